"""One construct per concern; ``stacks.agora_stack`` composes them."""
