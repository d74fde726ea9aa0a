from agora_lambda_runtime.bootstrap import main

main()
