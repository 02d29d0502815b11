"""Flows through boto3's bedrock-agent and bedrock-agent-runtime clients, unchanged, against a real
server: every control-plane operation, InvokeFlow's event stream for a prompt resource feeding a
condition with two branches, an iterator over a flow-node plugin (a LambdaFunction node) into a
collector, a loop with its controller, and a knowledge-base node; asynchronous executions with
their recorded events, stopped, and cut off by a killed server."""

import json
import signal
import time

import pytest
from botocore.exceptions import EventStreamError

from conftest import Server, _client

SMOLLM2 = "hf.smollm2-135m-instruct-v1:0"
MINILM = "arn:aws:bedrock:us-east-1::foundation-model/hf.all-minilm-l6-v2-v1:0"
ROLE = "arn:aws:iam::123456789012:role/flows"
ORDER_TOTAL = "arn:aws:lambda:us-east-1:123456789012:function:order-total"


def io_input(kind="String"):
    return {"name": "Start", "type": "Input", "configuration": {"input": {}}, "outputs": [{"name": "document", "type": kind}]}


def io_output(name, kind="String"):
    return {"name": name, "type": "Output", "configuration": {"output": {}},
            "inputs": [{"name": "document", "type": kind, "expression": "$.data"}]}


def data(name, source, output, target, input_name):
    return {"name": name, "type": "Data", "source": source, "target": target,
            "configuration": {"data": {"sourceOutput": output, "targetInput": input_name}}}


def conditional(name, source, condition, target):
    return {"name": name, "type": "Conditional", "source": source, "target": target,
            "configuration": {"conditional": {"condition": condition}}}


def prepared_flow(agent, name, definition):
    flow = agent.create_flow(name=name, executionRoleArn=ROLE, definition=definition)
    assert agent.prepare_flow(flowIdentifier=flow["id"])["status"] == "Prepared"
    return flow


def run(agent_runtime, flow, document, alias="TSTALIASID", trace=False):
    response = agent_runtime.invoke_flow(
        flowIdentifier=flow["arn"], flowAliasIdentifier=alias, enableTrace=trace,
        inputs=[{"nodeName": "Start", "nodeOutputName": "document", "content": {"document": document}}],
    )
    assert response["executionId"]
    return list(response["responseStream"])


def outputs(events):
    return [(e["flowOutputEvent"]["nodeName"], e["flowOutputEvent"]["content"]["document"])
            for e in events if "flowOutputEvent" in e]


def succeeded(events):
    return events[-1].get("flowCompletionEvent", {}).get("completionReason") == "SUCCESS"


def test_flow_control_plane(agent, agent_runtime):
    echo = {"nodes": [io_input(), io_output("End")], "connections": [data("c1", "Start", "document", "End", "document")]}
    flow = agent.create_flow(name="py-echo", executionRoleArn=ROLE, definition=echo, tags={"team": "docs"})
    assert flow["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert (flow["status"], flow["version"]) == ("NotPrepared", "DRAFT")
    assert agent.get_flow(flowIdentifier=flow["id"])["validations"] == []
    assert "py-echo" in [f["name"] for f in agent.list_flows()["flowSummaries"]]

    found = agent.validate_flow_definition(definition={"nodes": [io_input()], "connections": []})["validations"]
    assert [v["type"] for v in found] == ["MissingEndingNodes"]

    prepared = agent.prepare_flow(flowIdentifier=flow["id"])
    assert (prepared["ResponseMetadata"]["HTTPStatusCode"], prepared["status"]) == (202, "Prepared")
    version = agent.create_flow_version(flowIdentifier=flow["id"], description="first")
    assert version["version"] == "1" and version["definition"] == echo
    assert agent.get_flow_version(flowIdentifier=flow["id"], flowVersion="1")["description"] == "first"
    assert [v["version"] for v in agent.list_flow_versions(flowIdentifier=flow["id"])["flowVersionSummaries"]] == ["DRAFT", "1"]

    alias = agent.create_flow_alias(flowIdentifier=flow["id"], name="live", routingConfiguration=[{"flowVersion": "1"}])
    assert agent.get_flow_alias(flowIdentifier=flow["id"], aliasIdentifier=alias["arn"])["name"] == "live"
    assert [a["id"] for a in agent.list_flow_aliases(flowIdentifier=flow["id"])["flowAliasSummaries"]] == [alias["id"]]
    updated = agent.update_flow_alias(
        flowIdentifier=flow["id"], aliasIdentifier=alias["id"], name="live",
        routingConfiguration=[{"flowVersion": "1"}], concurrencyConfiguration={"type": "Manual", "maxConcurrency": 1},
    )
    assert updated["concurrencyConfiguration"] == {"type": "Manual", "maxConcurrency": 1}

    # The draft changes; the alias still runs version 1.
    agent.update_flow(flowIdentifier=flow["id"], name="py-echo", executionRoleArn=ROLE, definition=echo, description="v2")
    assert agent.get_flow(flowIdentifier=flow["id"])["status"] == "NotPrepared"
    with pytest.raises(agent_runtime.exceptions.ValidationException):
        run(agent_runtime, flow, "draft")
    events = run(agent_runtime, flow, "hello", alias=alias["id"])
    assert outputs(events) == [("End", "hello")] and succeeded(events)

    with pytest.raises(agent.exceptions.ConflictException):
        agent.delete_flow_version(flowIdentifier=flow["id"], flowVersion="1")
    with pytest.raises(agent.exceptions.ConflictException):
        agent.delete_flow(flowIdentifier=flow["id"])
    assert agent.delete_flow_alias(flowIdentifier=flow["id"], aliasIdentifier=alias["id"])["id"] == alias["id"]
    assert agent.delete_flow_version(flowIdentifier=flow["id"], flowVersion="1")["version"] == "1"
    assert agent.delete_flow(flowIdentifier=flow["id"])["id"] == flow["id"]
    with pytest.raises(agent.exceptions.ResourceNotFoundException):
        agent.get_flow(flowIdentifier=flow["id"])
    with pytest.raises(agent.exceptions.ValidationException) as error:
        agent.create_flow(name="py-bad", executionRoleArn=ROLE, definition={"nodes": [{"name": "a b", "type": "Input"}]})
    assert "definition.nodes.0.name" in error.value.response["Error"]["Message"]


def test_prompt_resource_then_condition_with_two_branches(agent, agent_runtime):
    prompt = agent.create_prompt(
        name="py-flow-classifier",
        variants=[{
            "name": "main", "templateType": "TEXT", "modelId": SMOLLM2,
            "inferenceConfiguration": {"text": {"maxTokens": 4, "temperature": 0.0}},
            "templateConfiguration": {"text": {"text": "Is this a question? {{text}}", "inputVariables": [{"name": "text"}]}},
        }],
    )
    arn = agent.create_prompt_version(promptIdentifier=prompt["id"])["arn"]
    flow = prepared_flow(agent, "py-branches", {
        "nodes": [
            io_input("Object"), io_output("Long", "String"), io_output("Short", "String"),
            {"name": "Ask", "type": "Prompt", "configuration": {"prompt": {"sourceConfiguration": {"resource": {"promptArn": arn}}}},
             "inputs": [{"name": "text", "type": "String", "expression": "$.data.text"}],
             "outputs": [{"name": "modelCompletion", "type": "String"}]},
            {"name": "Size", "type": "Condition", "configuration": {"condition": {"conditions": [
                {"name": "long", "expression": "words >= 5"}, {"name": "default"}]}},
             "inputs": [{"name": "words", "type": "Number", "expression": "$.data.words"}]},
        ],
        "connections": [
            data("c1", "Start", "document", "Ask", "text"),
            data("c2", "Start", "document", "Size", "words"),
            data("c3", "Ask", "modelCompletion", "Long", "document"),
            data("c4", "Ask", "modelCompletion", "Short", "document"),
            conditional("c5", "Size", "long", "Long"),
            conditional("c6", "Size", "default", "Short"),
        ],
    })
    events = run(agent_runtime, flow, {"text": "What time is it in Lima right now?", "words": 8}, trace=True)
    assert [name for name, _ in outputs(events)] == ["Long"] and succeeded(events)
    traces = [e["flowTraceEvent"]["trace"] for e in events if "flowTraceEvent" in e]
    assert any("conditionNodeResultTrace" in t for t in traces)
    events = run(agent_runtime, flow, {"text": "Hi", "words": 1})
    assert [name for name, _ in outputs(events)] == ["Short"] and succeeded(events)


def test_iterator_runs_a_lambda_plugin_per_element(agent, agent_runtime, server, fixtures):
    server.install(fixtures / "order-total@0.1.0", replace=True)
    flow = prepared_flow(agent, "py-pricing", {
        "nodes": [
            io_input("Array"), io_output("End", "Array"),
            {"name": "Each", "type": "Iterator", "configuration": {"iterator": {}},
             "inputs": [{"name": "array", "type": "Array", "expression": "$.data"}],
             "outputs": [{"name": "arrayItem", "type": "Object"}, {"name": "arraySize", "type": "Number"}]},
            {"name": "Price", "type": "LambdaFunction", "configuration": {"lambdaFunction": {"lambdaArn": ORDER_TOTAL}},
             "inputs": [{"name": "order", "type": "Object", "expression": "$.data"}],
             "outputs": [{"name": "functionResponse", "type": "Number"}]},
            {"name": "Gather", "type": "Collector", "configuration": {"collector": {}},
             "inputs": [{"name": "arrayItem", "type": "Number", "expression": "$.data"},
                        {"name": "arraySize", "type": "Number", "expression": "$.data"}],
             "outputs": [{"name": "collectedArray", "type": "Array"}]},
        ],
        "connections": [
            data("c1", "Start", "document", "Each", "array"),
            data("c2", "Each", "arrayItem", "Price", "order"),
            data("c3", "Price", "functionResponse", "Gather", "arrayItem"),
            data("c4", "Each", "arraySize", "Gather", "arraySize"),
            data("c5", "Gather", "collectedArray", "End", "document"),
        ],
    })
    events = run(agent_runtime, flow, [{"items": [{"price": 3, "quantity": 2}]}, {"items": [{"price": 4}], "discount": 0.25}])
    assert outputs(events) == [("End", [6.0, 3.0])] and succeeded(events)
    # A plugin that traps fails its node, named in the stream's exception; the server goes on.
    with pytest.raises(EventStreamError) as error:
        run(agent_runtime, flow, [{"trap": True}])
    assert error.value.response["Error"]["Code"] == "dependencyFailedException"
    assert "Price" in error.value.response["Error"]["Message"]
    assert outputs(run(agent_runtime, flow, [])) == [("End", [])]


def test_a_loop_and_a_knowledge_base_node(agent, agent_runtime, server, fixtures):
    server.install(fixtures / "order-total@0.1.0", replace=True)
    body = {
        "nodes": [
            {"name": "Round", "type": "LoopInput", "configuration": {"loopInput": {}}, "outputs": [{"name": "order", "type": "Object"}]},
            {"name": "Price", "type": "LambdaFunction", "configuration": {"lambdaFunction": {"lambdaArn": ORDER_TOTAL}},
             "inputs": [{"name": "order", "type": "Object", "expression": "$.data"}],
             "outputs": [{"name": "functionResponse", "type": "Number"}, {"name": "nextOrder", "type": "Object"}]},
            {"name": "Decide", "type": "LoopController",
             "configuration": {"loopController": {"continueCondition": {"name": "dear", "expression": "total > 6"}}},
             "inputs": [{"name": "total", "type": "Number", "expression": "$.data", "category": "LoopCondition"},
                        {"name": "order", "type": "Object", "expression": "$.data", "category": "ReturnValueToLoopStart"},
                        {"name": "price", "type": "Number", "expression": "$.data", "category": "ExitLoop"}]},
        ],
        "connections": [
            data("l1", "Round", "order", "Price", "order"),
            data("l2", "Price", "functionResponse", "Decide", "total"),
            data("l3", "Price", "nextOrder", "Decide", "order"),
            data("l4", "Price", "functionResponse", "Decide", "price"),
        ],
    }
    flow = prepared_flow(agent, "py-haggle", {
        "nodes": [io_input("Object"), io_output("End", "Number"),
                  {"name": "Haggle", "type": "Loop", "configuration": {"loop": {"definition": body}},
                   "inputs": [{"name": "order", "type": "Object", "expression": "$.data"}],
                   "outputs": [{"name": "price", "type": "Number"}]}],
        "connections": [data("c1", "Start", "document", "Haggle", "order"), data("c2", "Haggle", "price", "End", "document")],
    })
    assert outputs(run(agent_runtime, flow, {"items": [{"price": 10}]})) == [("End", 6.0)]

    kb = agent.create_knowledge_base(
        name="py-flow-kb", roleArn=ROLE,
        knowledgeBaseConfiguration={"type": "VECTOR", "vectorKnowledgeBaseConfiguration": {"embeddingModelArn": MINILM}},
    )["knowledgeBase"]["knowledgeBaseId"]
    ds = agent.create_data_source(knowledgeBaseId=kb, name="inline", dataSourceConfiguration={"type": "CUSTOM"})["dataSource"]["dataSourceId"]
    agent.ingest_knowledge_base_documents(knowledgeBaseId=kb, dataSourceId=ds, documents=[{"content": {
        "dataSourceType": "CUSTOM", "custom": {"customDocumentIdentifier": {"id": "leave"}, "sourceType": "IN_LINE",
        "inlineContent": {"type": "TEXT", "textContent": {"data": "Parental leave is sixteen weeks at full pay."}}}}}])
    flow = prepared_flow(agent, "py-kb", {
        "nodes": [io_input("String"), io_output("End", "String"),
                  {"name": "Answer", "type": "KnowledgeBase",
                   "configuration": {"knowledgeBase": {"knowledgeBaseId": kb, "modelId": SMOLLM2,
                                                       "inferenceConfiguration": {"text": {"maxTokens": 16, "temperature": 0.0}}}},
                   "inputs": [{"name": "retrievalQuery", "type": "String", "expression": "$.data"}],
                   "outputs": [{"name": "outputText", "type": "String"}]}],
        "connections": [data("c1", "Start", "document", "Answer", "retrievalQuery"),
                        data("c2", "Answer", "outputText", "End", "document")],
    })
    events = run(agent_runtime, flow, "How long is parental leave?")
    [(name, text)] = outputs(events)
    assert name == "End" and text and succeeded(events)


def slow_flow(agent, name, count):
    """An iterator running the model once per element: long enough to stop or kill."""
    return prepared_flow(agent, name, {
        "nodes": [
            io_input("Array"), io_output("End", "Array"),
            {"name": "Each", "type": "Iterator", "configuration": {"iterator": {}},
             "inputs": [{"name": "array", "type": "Array", "expression": "$.data"}],
             "outputs": [{"name": "arrayItem", "type": "String"}, {"name": "arraySize", "type": "Number"}]},
            {"name": "Say", "type": "Prompt", "configuration": {"prompt": {"sourceConfiguration": {"inline": {
                "templateType": "TEXT", "modelId": SMOLLM2,
                "inferenceConfiguration": {"text": {"maxTokens": 4, "temperature": 0.0}},
                "templateConfiguration": {"text": {"text": "Repeat: {{word}}", "inputVariables": [{"name": "word"}]}}}}}},
             "inputs": [{"name": "word", "type": "String", "expression": "$.data"}],
             "outputs": [{"name": "modelCompletion", "type": "String"}]},
            {"name": "Gather", "type": "Collector", "configuration": {"collector": {}},
             "inputs": [{"name": "arrayItem", "type": "String", "expression": "$.data"},
                        {"name": "arraySize", "type": "Number", "expression": "$.data"}],
             "outputs": [{"name": "collectedArray", "type": "Array"}]},
        ],
        "connections": [
            data("c1", "Start", "document", "Each", "array"),
            data("c2", "Each", "arrayItem", "Say", "word"),
            data("c3", "Say", "modelCompletion", "Gather", "arrayItem"),
            data("c4", "Each", "arraySize", "Gather", "arraySize"),
            data("c5", "Gather", "collectedArray", "End", "document"),
        ],
    })


def start(agent_runtime, flow, document, name=None):
    extra = {"flowExecutionName": name} if name else {}
    return agent_runtime.start_flow_execution(
        flowIdentifier=flow["id"], flowAliasIdentifier="TSTALIASID",
        inputs=[{"nodeName": "Start", "nodeOutputName": "document", "content": {"document": document}}], **extra,
    )["executionArn"]


def wait(agent_runtime, flow, arn):
    for _ in range(600):
        execution = agent_runtime.get_flow_execution(
            flowIdentifier=flow["id"], flowAliasIdentifier="TSTALIASID", executionIdentifier=arn)
        if execution["status"] != "Running":
            return execution
        time.sleep(0.05)
    raise AssertionError("the execution did not end")


def test_asynchronous_executions_record_their_events_and_stop(agent, agent_runtime):
    flow = slow_flow(agent, "py-async", 2)
    arn = start(agent_runtime, flow, ["a", "b"], name="first-run")
    assert arn.endswith(f"flow/{flow['id']}/alias/TSTALIASID/execution/first-run")
    execution = wait(agent_runtime, flow, arn)
    assert execution["status"] == "Succeeded" and execution["endedAt"]
    flow_events = agent_runtime.list_flow_execution_events(
        flowIdentifier=flow["id"], flowAliasIdentifier="TSTALIASID", executionIdentifier=arn, eventType="Flow",
    )["flowExecutionEvents"]
    assert "flowInputEvent" in flow_events[0]
    [output] = [e["flowOutputEvent"] for e in flow_events if "flowOutputEvent" in e]
    assert output["nodeName"] == "End" and len(output["fields"][0]["content"]["document"]) == 2
    node_events = [e for page in agent_runtime.get_paginator("list_flow_execution_events").paginate(
        flowIdentifier=flow["id"], flowAliasIdentifier="TSTALIASID", executionIdentifier=arn, eventType="Node")
        for e in page["flowExecutionEvents"]]
    assert sum("nodeInputEvent" in e and e["nodeInputEvent"]["nodeName"] == "Say" for e in node_events) == 2
    snapshot = agent_runtime.get_execution_flow_snapshot(
        flowIdentifier=flow["id"], flowAliasIdentifier="TSTALIASID", executionIdentifier=arn)
    assert json.loads(snapshot["definition"])["nodes"][0]["name"] == "Start"
    with pytest.raises(agent_runtime.exceptions.ConflictException):
        start(agent_runtime, flow, ["a"], name="first-run")

    long_run = start(agent_runtime, flow, ["word"] * 400)
    stopped = agent_runtime.stop_flow_execution(
        flowIdentifier=flow["id"], flowAliasIdentifier="TSTALIASID", executionIdentifier=long_run)
    assert stopped["status"] == "Aborted"
    assert wait(agent_runtime, flow, long_run)["status"] == "Aborted"
    summaries = agent_runtime.list_flow_executions(flowIdentifier=flow["id"])["flowExecutionSummaries"]
    assert {s["executionArn"]: s["status"] for s in summaries} == {arn: "Succeeded", long_run: "Aborted"}


def test_an_execution_cut_off_by_a_restart_fails_cleanly(tmp_path):
    server = Server(tmp_path, install_dist=False)
    try:
        agent = _client("bedrock-agent", server)
        runtime = _client("bedrock-agent-runtime", server)
        flow = slow_flow(agent, "py-killed", 400)
        arn = start(runtime, flow, ["word"] * 400)
        time.sleep(0.5)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
    finally:
        server.stop()
    restarted = Server(tmp_path, install_dist=False)
    try:
        runtime = _client("bedrock-agent-runtime", restarted)
        execution = runtime.get_flow_execution(
            flowIdentifier=flow["id"], flowAliasIdentifier="TSTALIASID", executionIdentifier=arn)
        assert execution["status"] == "Failed"
        assert "stopped" in execution["errors"][0]["message"]
        events = runtime.list_flow_execution_events(
            flowIdentifier=flow["id"], flowAliasIdentifier="TSTALIASID", executionIdentifier=arn, eventType="Flow",
        )["flowExecutionEvents"]
        assert "flowInputEvent" in events[0], "what was recorded before the kill is kept"
    finally:
        restarted.stop()
