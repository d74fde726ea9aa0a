"""DLQ redrive: moves the messages of dead-letter queues back to the queue they came from.

    python -m tools.dev.redrive --queue agora-local-products-order-events-dlq [--dry-run]
    python -m tools.dev.redrive --all [--dry-run]

A DLQ is the queue another queue's ``RedrivePolicy`` names as its ``deadLetterTargetArn``; that queue
is where its messages go back to (``--queue`` also takes the source queue's own name).  ``--all`` is
every DLQ of the stage (``agora-<stage>-...``, ``--stage``, default ``$AGORA_STAGE`` or ``local``).

How: SQS ``StartMessageMoveTask`` where the endpoint has it (AWS, LocalStack), waiting for the task
to finish; otherwise a loop that receives each message, sends its body, message attributes and
trace header to the source queue, and deletes it from the DLQ only once that send succeeded (a
crash in between leaves a copy in both, which the consumers' per-event idempotency absorbs).
``--method`` forces one.  What is printed per queue: how many messages moved, and each message's id
with the event type and id of the EventBridge envelope in its body.  With a move task, the listing
is what the DLQ held just before the task started (SQS does not say which messages a task moved);
``--dry-run`` lists the same and moves nothing.

Where: the running ``make dev`` (its LocalStack, ``LOCALSTACK_PORT``) by default; ``--endpoint-url``
or ``AWS_ENDPOINT_URL`` name another endpoint, and ``--aws`` uses the default AWS credentials and
endpoint, as the AWS CLI would.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

# Codes of an endpoint that does not implement StartMessageMoveTask.
UNSUPPORTED = {
    "InvalidAction",
    "UnsupportedOperation",
    "AWS.SimpleQueueService.UnsupportedOperation",
    "NotImplemented",
}
DONE = {"COMPLETED", "FAILED", "CANCELLED"}
RECEIVE_VISIBILITY_S = 30
LISTING_LIMIT = 100


@dataclass(frozen=True)
class Queue:
    name: str
    url: str
    arn: str


@dataclass(frozen=True)
class Message:
    id: str
    event_type: str | None
    event_id: str | None

    def line(self) -> str:
        return f"{self.id}  {self.event_type or '-'}  {self.event_id or '-'}"


@dataclass
class Redrive:
    dlq: Queue
    sources: list[Queue]
    method: str = "none"
    moved: int = 0
    messages: list[Message] = field(default_factory=list)
    listed_all: bool = True
    error: str | None = None

    def report(self, dry_run: bool) -> list[str]:
        target = ", ".join(s.name for s in self.sources) or "?"
        lines = [f"{self.dlq.name} -> {target}" + ("" if dry_run else f"  ({self.method})")]
        if self.error:
            lines.append(f"  FAILED: {self.error}")
        count = len(self.messages) if dry_run else self.moved
        verb = "would move" if dry_run else "moved"
        lines.append(f"  {verb} {count} message{'' if count == 1 else 's'}")
        lines += [f"  {message.line()}" for message in self.messages]
        if not self.listed_all:
            lines.append(f"  (listing stops at {LISTING_LIMIT})")
        return lines


def event_of(body: str) -> tuple[str | None, str | None]:
    """The event type and id of an SQS body holding an EventBridge event: the Agora envelope's
    (``detail.type`` / ``detail.id``), else EventBridge's own (``detail-type`` / ``id``)."""
    try:
        event = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(event, dict):
        return None, None
    detail = event.get("detail")
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except ValueError:
            detail = None
    if isinstance(detail, dict) and isinstance(detail.get("type"), str):
        return detail["type"], _text(detail.get("id"))
    return _text(event.get("detail-type")), _text(event.get("id"))


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None


def message_of(raw: dict[str, Any]) -> Message:
    return Message(raw["MessageId"], *event_of(raw.get("Body", "")))


def _queues(sqs: Any, prefix: str = "") -> Iterator[Queue]:
    kwargs: dict[str, Any] = {"MaxResults": 1000, **({"QueueNamePrefix": prefix} if prefix else {})}
    while True:
        page = sqs.list_queues(**kwargs)
        for url in page.get("QueueUrls", []):
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            yield Queue(arn.rsplit(":", 1)[-1], url, arn)
        if not page.get("NextToken"):
            return
        kwargs["NextToken"] = page["NextToken"]


def dead_letter_queues(sqs: Any, prefix: str = "") -> dict[str, tuple[Queue, list[Queue]]]:
    """Every DLQ whose name starts with ``prefix`` (by name), with the queues whose RedrivePolicy
    names it (those may be named anything: CDK names a consumer's queue, the stacks name its DLQ)."""
    queues = list(_queues(sqs))
    by_arn = {q.arn: q for q in queues}
    found: dict[str, tuple[Queue, list[Queue]]] = {}
    for queue in queues:
        attributes = sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["RedrivePolicy"])
        policy = attributes.get("Attributes", {}).get("RedrivePolicy")
        dlq = by_arn.get(json.loads(policy).get("deadLetterTargetArn", "")) if policy else None
        if dlq is not None and dlq.name.startswith(prefix):
            found.setdefault(dlq.name, (dlq, []))[1].append(queue)
    return dict(sorted(found.items()))


def select(sqs: Any, names: list[str], stage: str) -> list[tuple[Queue, list[Queue]]]:
    """The DLQs to redrive: those named (a DLQ, or a queue whose DLQ is meant), or all of the stage."""
    if not names:
        return list(dead_letter_queues(sqs, f"agora-{stage}-").values())
    known = dead_letter_queues(sqs)
    chosen: list[tuple[Queue, list[Queue]]] = []
    for name in names:
        if name in known:
            chosen.append(known[name])
            continue
        owner = next((dlq for dlq, sources in known.values() if any(s.name == name for s in sources)), None)
        if owner is None:
            raise LookupError(f"{name} is neither a dead-letter queue nor a queue with one")
        chosen.append(known[owner.name])
    return chosen


def listing(sqs: Any, dlq: Queue, limit: int = LISTING_LIMIT) -> tuple[list[Message], bool]:
    """The messages visible in the DLQ, left visible (received with a visibility timeout of 0);
    True when the listing is complete."""
    seen: dict[str, Message] = {}
    quiet = 0
    while len(seen) < limit and quiet < 2:
        received = sqs.receive_message(
            QueueUrl=dlq.url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=0
        ).get("Messages", [])
        new = [m for m in received if m["MessageId"] not in seen]
        for raw in new:
            seen[raw["MessageId"]] = message_of(raw)
        quiet = 0 if new else quiet + 1
    return list(seen.values())[:limit], len(seen) < limit


def move_task(sqs: Any, redrive: Redrive, timeout_s: float = 120) -> None:
    """StartMessageMoveTask, then wait for it.  Raises NotImplementedError when the endpoint lacks it."""
    destination = {"DestinationArn": redrive.sources[0].arn} if len(redrive.sources) == 1 else {}
    try:
        sqs.start_message_move_task(SourceArn=redrive.dlq.arn, **destination)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in UNSUPPORTED:
            raise NotImplementedError(str(e)) from e
        raise
    redrive.method = "StartMessageMoveTask"
    deadline = time.monotonic() + timeout_s
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=redrive.dlq.arn, MaxResults=1).get("Results", [])
        task = tasks[0] if tasks else {}
        redrive.moved = int(task.get("ApproximateNumberOfMessagesMoved", 0))
        if task.get("Status") in DONE:
            if task["Status"] != "COMPLETED":
                redrive.error = f"move task {task['Status']}: {task.get('FailureReason', 'no reason given')}"
            return
        if time.monotonic() > deadline:
            redrive.error = f"move task still {task.get('Status', 'unknown')} after {timeout_s:.0f} s"
            return
        time.sleep(0.5)


def _attributes_to_send(raw: dict[str, Any]) -> dict[str, Any]:
    sent: dict[str, Any] = {}
    for name, value in (raw.get("MessageAttributes") or {}).items():
        sent[name] = {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
    return sent


def receive_send_delete(sqs: Any, redrive: Redrive) -> None:
    """The loop: each message sent to its source queue, then deleted from the DLQ."""
    redrive.method = "receive/send/delete"
    by_arn = {s.arn: s for s in redrive.sources}
    redrive.messages = []
    while True:
        received = sqs.receive_message(
            QueueUrl=redrive.dlq.url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=RECEIVE_VISIBILITY_S,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return
        for raw in received:
            system = raw.get("Attributes") or {}
            source = by_arn.get(system.get("DeadLetterQueueSourceArn", "")) or (
                redrive.sources[0] if len(redrive.sources) == 1 else None
            )
            if source is None:
                raise LookupError(
                    f"message {raw['MessageId']}: cannot tell which of the source queues it left"
                )
            send: dict[str, Any] = {"QueueUrl": source.url, "MessageBody": raw["Body"]}
            if attributes := _attributes_to_send(raw):
                send["MessageAttributes"] = attributes
            if trace := system.get("AWSTraceHeader"):
                send["MessageSystemAttributes"] = {
                    "AWSTraceHeader": {"DataType": "String", "StringValue": trace}
                }
            if group := system.get("MessageGroupId"):
                send["MessageGroupId"] = group
                send["MessageDeduplicationId"] = system.get("MessageDeduplicationId") or raw["MessageId"]
            sqs.send_message(**send)
            sqs.delete_message(QueueUrl=redrive.dlq.url, ReceiptHandle=raw["ReceiptHandle"])
            redrive.moved += 1
            if len(redrive.messages) < LISTING_LIMIT:
                redrive.messages.append(message_of(raw))
            else:
                redrive.listed_all = False


def redrive_queue(
    sqs: Any, dlq: Queue, sources: list[Queue], *, dry_run: bool, method: str = "auto"
) -> Redrive:
    redrive = Redrive(dlq, sources)
    try:
        if dry_run or method in ("auto", "move-task"):
            redrive.messages, redrive.listed_all = listing(sqs, dlq)
        if dry_run:
            return redrive
        if method == "auto" and redrive.listed_all and not redrive.messages:
            redrive.method = "nothing visible to move"
            return redrive
        if method in ("auto", "move-task"):
            try:
                move_task(sqs, redrive)
                return redrive
            except NotImplementedError:
                if method == "move-task":
                    raise
        receive_send_delete(sqs, redrive)
    except (ClientError, BotoCoreError, LookupError, NotImplementedError) as e:
        redrive.error = str(e)
    return redrive


def client(args: argparse.Namespace) -> Any:
    import boto3

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    if args.endpoint_url:
        return boto3.client("sqs", endpoint_url=args.endpoint_url, region_name=region)
    if args.aws or os.environ.get("AWS_ENDPOINT_URL"):
        return boto3.client("sqs", region_name=region)
    from tools.dev.stack import boto, state_dir

    return boto("sqs", state_dir())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.dev.redrive",
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join((__doc__ or "").splitlines()[2:]),
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--queue", action="append", metavar="NAME", help="a DLQ (or its source queue); repeatable"
    )
    which.add_argument("--all", action="store_true", help="every DLQ of the stage")
    parser.add_argument("--dry-run", action="store_true", help="list what would move, move nothing")
    parser.add_argument(
        "--stage", default=os.environ.get("AGORA_STAGE", "local"), help="for --all (default: local)"
    )
    parser.add_argument("--method", choices=("auto", "move-task", "loop"), default="auto")
    parser.add_argument(
        "--endpoint-url", help="the SQS endpoint (default: the running make dev's LocalStack)"
    )
    parser.add_argument("--aws", action="store_true", help="the default AWS endpoint and credentials")
    args = parser.parse_args(argv)
    sqs = client(args)
    try:
        chosen = select(sqs, args.queue or [], args.stage)
    except (LookupError, ClientError, BotoCoreError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not chosen:
        print(f"no dead-letter queues of stage {args.stage}")
        return 0
    failed = False
    for dlq, sources in chosen:
        result = redrive_queue(sqs, dlq, sources, dry_run=args.dry_run, method=args.method)
        failed = failed or result.error is not None
        print("\n".join(result.report(args.dry_run)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
