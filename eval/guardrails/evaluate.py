"""How well the model-backed guardrail policies do on the labelled sets beside this script.

Starts a real `mantle serve` (MANTLE_BIN, default the dev build) on a random loopback port,
creates guardrails with boto3 as an application would, sends every labelled text through
ApplyGuardrail, and prints precision, recall and false-positive rate per policy (and per kind
of text). It reports; it does not gate on a number.

    python eval/guardrails/evaluate.py            # the shipped policies
    python eval/guardrails/evaluate.py --sweep    # denied topics at other similarity thresholds
    python eval/guardrails/evaluate.py --only content --bands 0.4,0.5,0.6

`--install DIR` installs a plugin (`plugin.toml` + `plugin.wasm`) before the run; one named
like a built-in replaces it, so a team can measure its own policy on the same sets.
`--sweep` and `--bands` run the `denied-topics` and `content-filter` plugins as custom
policies with explicit thresholds, to see where the shipped defaults sit. The sets are split in two by line (even lines tune, odd
lines report): `--half tune` or `--half report` restricts a run to one half.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


class Server:
    def __init__(self, binary: str, data_dir: Path, install=()):
        # An installed plugin of a built-in's name replaces it: how a team evaluates its own.
        for plugin in install:
            plugin = Path(plugin)
            shutil.copytree(plugin, data_dir / "plugins" / plugin.name)
        self.process = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE,
            env=dict(os.environ, MANTLE_LOG="warn"),
            text=True,
        )
        line = self.process.stdout.readline()
        if "listening on" not in line:
            self.process.kill()
            raise SystemExit(f"mantle did not start: {line!r}")
        self.url = line.strip().rsplit(" ", 1)[-1]

    def admin(self, method: str, path: str, body):
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            method=method,
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request) as response:
            return response.read()

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def client(service: str, url: str):
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(read_timeout=60, retries={"max_attempts": 1}),
    )


def lines(path: Path, half: str):
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if half == "tune":
        return rows[0::2]
    if half == "report":
        return rows[1::2]
    return rows


class Tally:
    """Counts of one policy's verdicts, overall and per kind of text."""

    def __init__(self):
        self.tp = self.fp = self.tn = self.fn = 0
        self.kinds = {}

    def add(self, kind: str, truth: bool, detected: bool):
        if truth:
            self.tp += detected
            self.fn += not detected
        else:
            self.fp += detected
            self.tn += not detected
        hit, total = self.kinds.get(kind, (0, 0))
        self.kinds[kind] = (hit + detected, total + 1)

    def row(self):
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")
        fpr = self.fp / (self.fp + self.tn) if self.fp + self.tn else float("nan")
        kinds = "  ".join(f"{k} {h}/{t}" for k, (h, t) in sorted(self.kinds.items()))
        return f"{self.tp + self.fp + self.tn + self.fn:5d}  {precision:9.3f}  {recall:6.3f}  {fpr:6.3f}   {kinds}"


HEADER = f"{'':34}{'n':>5}  {'precision':>9}  {'recall':>6}  {'FPR':>6}   detected per kind"


def apply(runtime, gid: str, source: str, text: str):
    return runtime.apply_guardrail(
        guardrailIdentifier=gid,
        guardrailVersion="DRAFT",
        source=source,
        content=[{"text": {"text": text}}],
    )


def topic_detected(response, name: str) -> bool:
    return any(
        t["name"] == name and t.get("detected", True)
        for a in response["assessments"]
        for t in a.get("topicPolicy", {}).get("topics", [])
    )


def evaluate_topics(server, bedrock, runtime, half: str, thresholds):
    topics = json.loads((HERE / "topics" / "topics.json").read_text())
    slug = {t["name"]: t["name"].lower().replace(" ", "-") for t in topics}
    started = time.monotonic()
    calls = 0
    for topic in topics:
        rows = lines(HERE / "topics" / f"{slug[topic['name']]}.jsonl", half)
        guardrails = []
        config = {"topicsConfig": [dict(topic, inputAction="BLOCK")]}
        if thresholds is None:
            created = bedrock.create_guardrail(
                name=f"eval-{slug[topic['name']]}",
                topicPolicyConfig=config,
                blockedInputMessaging="blocked",
                blockedOutputsMessaging="blocked",
            )
            guardrails.append(("shipped", created["guardrailId"]))
        else:
            for threshold in thresholds:
                created = bedrock.create_guardrail(
                    name=f"sweep-{slug[topic['name']]}-{int(threshold * 100)}",
                    blockedInputMessaging="blocked",
                    blockedOutputsMessaging="blocked",
                )
                server.admin(
                    "PUT",
                    f"/admin/guardrails/{created['guardrailId']}/custom-policies",
                    {"policies": [{"plugin": "denied-topics", "config": dict(config, threshold=threshold)}]},
                )
                guardrails.append((f"threshold {threshold:.2f}", created["guardrailId"]))
        for label, gid in guardrails:
            tally = Tally()
            for row in rows:
                response = apply(runtime, gid, "INPUT", row["text"])
                calls += 1
                tally.add(row["kind"], bool(row["label"]), topic_detected(response, topic["name"]))
            print(f"{topic['name'] + ' (' + label + ')':34}{tally.row()}", flush=True)
    elapsed = time.monotonic() - started
    print(f"  {calls} ApplyGuardrail calls in {elapsed:.1f} s ({1000 * elapsed / max(calls, 1):.1f} ms each over HTTP)")


STRENGTHS = ["LOW", "MEDIUM", "HIGH"]
LEVELS = {"NONE": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3}


def catches(strength: str, confidence: str) -> bool:
    """Bedrock's rule: HIGH strength acts on LOW confidence and up, LOW only on HIGH."""
    return confidence != "NONE" and LEVELS[confidence] >= 4 - LEVELS[strength]


def content_detected(response, category: str) -> bool:
    return any(
        f["type"] == category and f["action"] == "BLOCKED"
        for a in response["assessments"]
        for f in a.get("contentPolicy", {}).get("filters", [])
    )


def evaluate_content(server, bedrock, runtime, half: str, bands):
    started = time.monotonic()
    calls = 0
    for path in sorted((HERE / "content").glob("*.jsonl")):
        category = path.stem
        rows = lines(path, half)
        for strength in STRENGTHS:
            output = "NONE" if category == "PROMPT_ATTACK" else strength
            config = {"filtersConfig": [{"type": category, "inputStrength": strength, "outputStrength": output}]}
            name = f"eval-{category.lower().replace('_', '-')}-{strength.lower()}"
            if bands is None:
                gid = bedrock.create_guardrail(
                    name=name,
                    contentPolicyConfig=config,
                    blockedInputMessaging="blocked",
                    blockedOutputsMessaging="blocked",
                )["guardrailId"]
            else:
                gid = bedrock.create_guardrail(
                    name=name, blockedInputMessaging="blocked", blockedOutputsMessaging="blocked"
                )["guardrailId"]
                server.admin(
                    "PUT",
                    f"/admin/guardrails/{gid}/custom-policies",
                    {"policies": [{"plugin": "content-filter", "config": dict(config, bands=bands)}]},
                )
            tally = Tally()
            for row in rows:
                response = apply(runtime, gid, "INPUT", row["text"])
                calls += 1
                kind = row["kind"] if row["kind"] != "harmful" else f"harmful-{row['label']}"
                tally.add(kind, catches(strength, row["label"]), content_detected(response, category))
            print(f"{category + ' at ' + strength:34}{tally.row()}", flush=True)
    elapsed = time.monotonic() - started
    print(f"  {calls} ApplyGuardrail calls in {elapsed:.1f} s ({1000 * elapsed / max(calls, 1):.1f} ms each over HTTP)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.environ.get("MANTLE_BIN"))
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--half", choices=["all", "tune", "report"], default="all")
    parser.add_argument("--only", choices=["topics", "content"], help="evaluate one policy")
    parser.add_argument("--bands", help="content-filter similarity bands as low,medium,high")
    parser.add_argument(
        "--install",
        action="append",
        default=[],
        help="a plugin folder (plugin.toml + plugin.wasm) to install first, e.g. a replacement policy",
    )
    args = parser.parse_args()
    binary = args.bin
    if binary is None:
        target = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/mantle/target"))
        binary = str(target / "debug" / "mantle")
    thresholds = [0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65] if args.sweep else None
    with tempfile.TemporaryDirectory() as data_dir:
        server = Server(binary, Path(data_dir), args.install)
        try:
            bedrock, runtime = client("bedrock", server.url), client("bedrock-runtime", server.url)
            print(f"guardrail evaluation ({args.half} of each set) against {server.url}")
            if args.only in (None, "topics"):
                print("denied topics: each text is an input to a guardrail with that one topic")
                print(HEADER)
                evaluate_topics(server, bedrock, runtime, args.half, thresholds)
            if args.only in (None, "content"):
                bands = None
                if args.bands:
                    low, medium, high = (float(x) for x in args.bands.split(","))
                    bands = {"low": low, "medium": medium, "high": high}
                print("content filters: each text is an input to a guardrail with that one filter at each strength;")
                print("a text should be blocked when the strength catches its labelled severity")
                print(HEADER)
                evaluate_content(server, bedrock, runtime, args.half, bands)
        finally:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
