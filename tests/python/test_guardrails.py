"""Bedrock Guardrails through boto3's `bedrock` and `bedrock-runtime` clients."""

import uuid

import pytest
from botocore.exceptions import ClientError

BLOCKED_IN = "Sorry, I cannot help with that."
BLOCKED_OUT = "Sorry, I cannot share that."


def create(bedrock, **overrides):
    request = dict(
        name=f"g-{uuid.uuid4().hex[:12]}",
        description="test guardrail",
        wordPolicyConfig={
            "wordsConfig": [{"text": "project aurora"}],
            "managedWordListsConfig": [{"type": "PROFANITY"}],
        },
        sensitiveInformationPolicyConfig={
            "piiEntitiesConfig": [
                {"type": "EMAIL", "action": "ANONYMIZE"},
                {"type": "CREDIT_DEBIT_CARD_NUMBER", "action": "BLOCK"},
                {"type": "NAME", "action": "ANONYMIZE"},
            ],
            "regexesConfig": [
                {"name": "ticket", "pattern": "TICKET-[0-9]{4}", "action": "ANONYMIZE", "description": "tickets"}
            ],
        },
        blockedInputMessaging=BLOCKED_IN,
        blockedOutputsMessaging=BLOCKED_OUT,
    )
    request.update(overrides)
    return bedrock.create_guardrail(**request)


def apply(runtime, guardrail_id, text, version="DRAFT", source="INPUT", **kwargs):
    return runtime.apply_guardrail(
        guardrailIdentifier=guardrail_id,
        guardrailVersion=version,
        source=source,
        content=[{"text": {"text": text}}],
        **kwargs,
    )


def error_of(call):
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response


def test_control_plane_lifecycle(bedrock):
    created = create(bedrock)
    gid = created["guardrailId"]
    assert created["version"] == "DRAFT"
    assert created["guardrailArn"].endswith(f":guardrail/{gid}")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert created["ResponseMetadata"]["RequestId"]

    got = bedrock.get_guardrail(guardrailIdentifier=gid)
    assert got["status"] == "READY"
    assert got["wordPolicy"]["words"][0]["text"] == "project aurora"
    assert got["sensitiveInformationPolicy"]["regexes"][0]["pattern"] == "TICKET-[0-9]{4}"
    assert got["createdAt"].year >= 2024

    version = bedrock.create_guardrail_version(guardrailIdentifier=gid, description="first")
    assert version["version"] == "1"
    updated = bedrock.update_guardrail(
        guardrailIdentifier=gid,
        name=got["name"],
        wordPolicyConfig={"wordsConfig": [{"text": "lovely"}]},
        blockedInputMessaging=BLOCKED_IN,
        blockedOutputsMessaging=BLOCKED_OUT,
    )
    assert updated["version"] == "DRAFT"
    assert bedrock.get_guardrail(guardrailIdentifier=gid, guardrailVersion="1")["description"] == "first"
    assert "sensitiveInformationPolicy" not in bedrock.get_guardrail(guardrailIdentifier=gid)

    listed = bedrock.list_guardrails(guardrailIdentifier=gid)["guardrails"]
    assert [g["version"] for g in listed] == ["DRAFT", "1"]
    assert any(g["id"] == gid for g in bedrock.list_guardrails()["guardrails"])
    # By ARN too.
    assert bedrock.get_guardrail(guardrailIdentifier=created["guardrailArn"])["guardrailId"] == gid

    bedrock.delete_guardrail(guardrailIdentifier=gid, guardrailVersion="1")
    assert [g["version"] for g in bedrock.list_guardrails(guardrailIdentifier=gid)["guardrails"]] == ["DRAFT"]
    bedrock.delete_guardrail(guardrailIdentifier=gid)
    response = error_of(lambda: bedrock.get_guardrail(guardrailIdentifier=gid))
    assert response["Error"]["Code"] == "ResourceNotFoundException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_list_paginates(bedrock):
    for _ in range(3):
        create(bedrock)
    first = bedrock.list_guardrails(maxResults=2)
    assert len(first["guardrails"]) == 2 and "nextToken" in first
    rest = bedrock.list_guardrails(maxResults=2, nextToken=first["nextToken"])
    assert {g["id"] for g in first["guardrails"]}.isdisjoint({g["id"] for g in rest["guardrails"]})


def test_client_request_token_makes_create_idempotent(bedrock):
    token = uuid.uuid4().hex
    name = f"idem-{uuid.uuid4().hex[:8]}"
    a = create(bedrock, name=name, clientRequestToken=token)
    b = create(bedrock, name=name, clientRequestToken=token)
    assert a["guardrailId"] == b["guardrailId"]


def test_apply_anonymizes(bedrock, runtime):
    gid = create(bedrock)["guardrailId"]
    result = apply(runtime, gid, "Contact bob@example.com about TICKET-1234, thanks Bob Smith.")
    assert result["action"] == "GUARDRAIL_INTERVENED"
    assert result["actionReason"] == "Guardrail masked."
    # NAME needs a model: accepted in the config, never claimed as detected.
    assert result["outputs"] == [{"text": "Contact {EMAIL} about {ticket}, thanks Bob Smith."}]
    sensitive = result["assessments"][0]["sensitiveInformationPolicy"]
    assert sensitive["piiEntities"] == [
        {"match": "bob@example.com", "type": "EMAIL", "action": "ANONYMIZED", "detected": True}
    ]
    assert sensitive["regexes"][0]["name"] == "ticket"
    assert sensitive["regexes"][0]["match"] == "TICKET-1234"
    usage = result["usage"]
    assert usage["sensitiveInformationPolicyUnits"] == 1 and usage["wordPolicyUnits"] == 1
    assert result["assessments"][0]["invocationMetrics"]["guardrailCoverage"]["textCharacters"]["total"] > 0


def test_apply_blocks_with_the_sources_messaging(bedrock, runtime):
    gid = create(bedrock)["guardrailId"]
    result = apply(runtime, gid, "Card 4111 1111 1111 1111 please")
    assert result["action"] == "GUARDRAIL_INTERVENED"
    assert result["outputs"] == [{"text": BLOCKED_IN}]
    pii = result["assessments"][0]["sensitiveInformationPolicy"]["piiEntities"]
    assert pii[0]["type"] == "CREDIT_DEBIT_CARD_NUMBER" and pii[0]["action"] == "BLOCKED"

    result = apply(runtime, gid, "Tell me about PROJECT AURORA", source="OUTPUT")
    assert result["outputs"] == [{"text": BLOCKED_OUT}]
    words = result["assessments"][0]["wordPolicy"]["customWords"]
    assert words == [{"match": "project aurora", "action": "BLOCKED", "detected": True}]


def test_apply_passes_clean_text_and_output_scope_full_shows_detections(bedrock, runtime):
    gid = create(
        bedrock,
        sensitiveInformationPolicyConfig={"piiEntitiesConfig": [{"type": "EMAIL", "action": "NONE"}]},
    )["guardrailId"]
    clean = apply(runtime, gid, "a@b.io wrote hello")
    assert clean["action"] == "NONE" and clean["outputs"] == []
    assert "sensitiveInformationPolicy" not in clean["assessments"][0]
    full = apply(runtime, gid, "a@b.io wrote hello", outputScope="FULL")
    assert full["action"] == "NONE"
    assert full["assessments"][0]["sensitiveInformationPolicy"]["piiEntities"][0]["action"] == "NONE"


def test_apply_to_a_numbered_version(bedrock, runtime):
    gid = create(bedrock)["guardrailId"]
    bedrock.create_guardrail_version(guardrailIdentifier=gid)
    assert apply(runtime, gid, "TICKET-0001", version="1")["outputs"][0]["text"] == "{ticket}"


@pytest.mark.parametrize(
    "call, code, status, needle",
    [
        (lambda b, r, g: apply(r, "nosuchguardrail", "x"), "ResourceNotFoundException", 404, "nosuchguardrail"),
        (lambda b, r, g: apply(r, g, "x", version="9"), "ResourceNotFoundException", 404, "9"),
        (lambda b, r, g: r.apply_guardrail(guardrailIdentifier=g, guardrailVersion="DRAFT", source="SIDEWAYS",
                                           content=[{"text": {"text": "x"}}]), "ValidationException", 400, "source"),
        (lambda b, r, g: r.apply_guardrail(guardrailIdentifier=g, guardrailVersion="DRAFT", source="INPUT",
                                           content=[]), "ValidationException", 400, "content"),
        (lambda b, r, g: apply(r, g, "x" * (300 * 1024)), "ValidationException", 400, "content"),
        (lambda b, r, g: create(b, wordPolicyConfig={"wordsConfig": [{"text": "a", "inputAction": "MAYBE"}]}),
         "ValidationException", 400, "inputAction"),
        (lambda b, r, g: create(b, sensitiveInformationPolicyConfig={"piiEntitiesConfig": [{"type": "SHOE_SIZE", "action": "BLOCK"}]}),
         "ValidationException", 400, "piiEntitiesConfig[0].type"),
        (lambda b, r, g: create(b, sensitiveInformationPolicyConfig={"regexesConfig": [{"name": "r", "pattern": "(unclosed", "action": "BLOCK"}]}),
         "ValidationException", 400, "pattern"),
        (lambda b, r, g: create(b, name="has spaces"), "ValidationException", 400, "name"),
        (lambda b, r, g: b.get_guardrail(guardrailIdentifier=g, guardrailVersion="DRAFTY"), "ValidationException", 400, "guardrailVersion"),
    ],
)
def test_bad_input_gets_the_right_exception(bedrock, runtime, call, code, status, needle):
    gid = create(bedrock)["guardrailId"]
    response = error_of(lambda: call(bedrock, runtime, gid))
    assert response["Error"]["Code"] == code
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert needle in response["Error"]["Message"]


def test_a_team_plugin_attaches_and_reports_in_the_assessments(server, bedrock, runtime, fixtures):
    server.install(fixtures / "custom-bank-policy@0.1.0", replace=True)
    gid = create(bedrock)["guardrailId"]
    server.admin(
        "PUT",
        f"/admin/guardrails/{gid}/custom-policies",
        {"policies": [{"plugin": "custom-bank-policy@0.1.0", "config": {"action": "ANONYMIZE"}}]},
    )
    result = apply(runtime, gid, "Move it to ACME-9876543210 and mail a@b.io")
    assert result["outputs"] == [{"text": "Move it to {ACME_ACCOUNT} and mail {EMAIL}"}]
    regexes = result["assessments"][0]["sensitiveInformationPolicy"]["regexes"]
    assert {"name": "acme-account-number", "match": "ACME-9876543210"}.items() <= regexes[0].items()


def test_hostile_plugins_fail_their_request_and_the_server_keeps_serving(server, bedrock, runtime, fixtures):
    gid = create(bedrock)["guardrailId"]
    for name, code in [("panic", "ModelErrorException"), ("alloc-1gib", "ModelErrorException"),
                       ("infinite-loop", "ModelTimeoutException")]:
        server.install(fixtures / f"{name}@0.1.0", replace=True)
        response = error_of(lambda: server_attach(server, gid, name))
        assert response["Error"]["Code"] == code, name
        # The guardrail, and the server, still answer.
        assert apply(runtime, gid, "mail a@b.io")["outputs"] == [{"text": "mail {EMAIL}"}]


def server_attach(server, gid, plugin):
    import urllib.error

    try:
        server.admin("PUT", f"/admin/guardrails/{gid}/custom-policies", {"policies": [{"plugin": plugin}]})
    except urllib.error.HTTPError as error:
        raise ClientError({"Error": {"Code": error.headers["x-amzn-ErrorType"], "Message": ""}}, "attach")
    raise AssertionError(f"{plugin} attached without failing")
