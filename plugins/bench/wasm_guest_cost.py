"""Guest cost per KiB of the guardrail components, in wasm, independent of Mantle's host.

Runs each component under wasmtime-py (`pip install wasmtime`, 50 or later) on the same 64 KiB
text twice: with a config that scans and with `{}` (which scans nothing). The difference is the
scan itself; the harness, the call and the passing of the string cancel out.

    python3 -m venv /tmp/wtpy && /tmp/wtpy/bin/pip install wasmtime
    (cd plugins && CARGO_TARGET_DIR=$HOME/.cache/mantle/target-wasm cargo build --target wasm32-wasip2 --release)
    /tmp/wtpy/bin/python plugins/bench/wasm_guest_cost.py [wasm dir]
"""

import json
import os
import sys
import time
from types import SimpleNamespace as NS

import wasmtime
from wasmtime import component as c

WASM = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser(
    "~/.cache/mantle/target-wasm/wasm32-wasip2/release"
)
ENGINE = wasmtime.Engine()

SENTENCES = [
    "Our quarterly review covered the roadmap, hiring plans and the migration of billing.",
    "Please reach the on-call engineer through the usual channel if the dashboard turns red.",
    "The customer quoted a ticket number and asked for a refund of the last invoice.",
    "Nothing in this paragraph is sensitive; it only describes the weather and the office.",
    "Call the front desk before noon to book the large meeting room, extension 2231.",
    "The deployment finished without errors and latency stayed flat through the evening.",
]

PII_TYPES = [
    "EMAIL", "PHONE", "CREDIT_DEBIT_CARD_NUMBER", "US_SOCIAL_SECURITY_NUMBER", "IP_ADDRESS",
    "AWS_ACCESS_KEY",
]

CONFIGS = {
    "mantle_plugin_sensitive_information.wasm": {
        "piiEntitiesConfig": [{"type": t, "action": "ANONYMIZE"} for t in PII_TYPES],
        "regexesConfig": [{"name": "ticket", "pattern": "TICKET-[0-9]{4}", "action": "ANONYMIZE"}],
    },
    "mantle_plugin_word_filter.wasm": {
        "wordsConfig": [{"text": "project aurora"}, {"text": "falcon"}],
        "managedWordListsConfig": [{"type": "PROFANITY"}],
    },
}


def load(name):
    component = c.Component.from_file(ENGINE, os.path.join(WASM, name))
    linker = c.Linker(ENGINE)
    linker.add_wasip2()
    # wasmtime-py's WASI 0.2 set has no wasi:random/insecure-seed (Mantle's host has); the
    # `regex` crate's hash maps ask it once for a seed.
    with linker.root() as root:
        with root.add_instance("wasi:random/insecure-seed@0.2.6") as seed:
            seed.add_func("insecure-seed", lambda store: (1, 2))
    linker.define_unknown_imports_as_traps(component)
    store = wasmtime.Store(ENGINE)
    store.set_wasi(wasmtime.WasiConfig())
    instance = linker.instantiate(store, component)
    interface = instance.get_export_index(store, "mantle:plugin/guardrail-policy@0.1.0")
    return store, instance.get_func(store, instance.get_export_index(store, "assess", interface))


def call(store, func, request):
    result = func(store, request)
    func.post_return(store)
    assert result.tag == "ok", result.payload
    return result.payload


def per_call(store, func, text, config, n=200):
    request = NS(source="input", content=[NS(text=text, qualifiers=[])], config=json.dumps(config))
    call(store, func, request)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(n):
            call(store, func, request)
        best = min(best, (time.perf_counter() - started) / n * 1e6)
    return best


def main():
    text = ""
    while len(text) < 65536:
        text += SENTENCES[len(text) % len(SENTENCES)] + " "
    text = text[:65536]
    for name, config in CONFIGS.items():
        store, func = load(name)
        idle = per_call(store, func, text, {})
        busy = per_call(store, func, text, config)
        print(f"{name}: {(busy - idle) / 64:.1f} µs per KiB in wasm ({busy:.0f} vs {idle:.0f} µs per 64 KiB call)")


if __name__ == "__main__":
    main()
