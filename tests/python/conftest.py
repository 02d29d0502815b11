"""Real-client tests: boto3 against a real `mantle` server on a random loopback port.

`cargo xtask test` runs these with MANTLE_BIN (the server binary) and MANTLE_PLUGIN_DIST /
MANTLE_FIXTURE_DIST (plugins built from plugins/) set.
"""

import base64
import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

REGION = "us-east-1"

# Bedrock ids that unchanged applications (and LlamaIndex, which refuses ids it does not know)
# send, mapped to the served models by the session server's settings file.
ALIASES = {
    "anthropic.claude-3-haiku-20240307-v1:0": "hf.smollm2-135m-instruct-v1:0",
    "us.anthropic.claude-3-haiku-20240307-v1:0": "hf.smollm2-135m-instruct-v1:0",
    "meta.llama3-8b-instruct-v1:0": "hf.smollm2-135m-instruct-v1:0",
}

# A hung stream or server fails the test instead of holding CI: no call waits longer than this
# for a byte, and nothing is retried behind the test's back.
CLIENT_CONFIG = Config(connect_timeout=10, read_timeout=60, retries={"max_attempts": 1, "mode": "standard"})


class Server:
    def __init__(self, data_dir: Path, install_dist: bool = True, settings: str = "", env=None):
        """A `mantle serve` on a random port over `data_dir`. With `install_dist`, the built
        plugins are copied into its plugins folder; without, it serves only its built-ins."""
        self.data_dir = data_dir
        plugins = data_dir / "plugins"
        # An existing data dir is a restart: its records and plugins are kept.
        plugins.mkdir(parents=True, exist_ok=True)
        if install_dist:
            for plugin in Path(os.environ["MANTLE_PLUGIN_DIST"]).iterdir():
                shutil.copytree(plugin, plugins / plugin.name)
        config = data_dir / "mantle.toml"
        config.write_text(settings)
        env = dict(os.environ, MANTLE_LOG="warn", **(env or {}))
        self.process = subprocess.Popen(
            [os.environ["MANTLE_BIN"], "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data_dir),
             "--config", str(config)],
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        line = self.process.stdout.readline()
        if "listening on" not in line:
            self.process.kill()
            raise RuntimeError(f"mantle did not start: {line!r}")
        self.url = line.strip().rsplit(" ", 1)[-1]

    def admin(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(request) as response:
            text = response.read()
            return json.loads(text) if text else None

    def install(self, plugin_dir: Path, replace: bool = False):
        return self.admin(
            "POST",
            "/admin/plugins",
            {
                "manifest": (plugin_dir / "plugin.toml").read_text(),
                "component": base64.b64encode((plugin_dir / "plugin.wasm").read_bytes()).decode(),
                "replace": replace,
            },
        )

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def toml_aliases(aliases: dict) -> str:
    return "[model-aliases]\n" + "".join(f"{json.dumps(k)} = {json.dumps(v)}\n" for k, v in aliases.items())


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    # The WEB tests crawl sites served on 127.0.0.1, which the default settings refuse.
    settings = "crawl-private-networks = true\n" + toml_aliases(ALIASES)
    server = Server(tmp_path_factory.mktemp("mantle"), settings=settings)
    yield server
    server.stop()


def _client(service: str, server: Server):
    return boto3.client(
        service,
        endpoint_url=server.url,
        region_name=REGION,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=CLIENT_CONFIG,
    )


@pytest.fixture(scope="session")
def bedrock(server):
    return _client("bedrock", server)


@pytest.fixture(scope="session")
def runtime(server):
    return _client("bedrock-runtime", server)


@pytest.fixture(scope="session")
def fixtures():
    return Path(os.environ["MANTLE_FIXTURE_DIST"])


@pytest.fixture(scope="session")
def openai_client(server):
    from openai import OpenAI

    return OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)


@pytest.fixture(scope="session")
def agent(server):
    return _client("bedrock-agent", server)


@pytest.fixture(scope="session")
def agent_runtime(server):
    return _client("bedrock-agent-runtime", server)
