"""Knowledge Bases through boto3's bedrock-agent and bedrock-agent-runtime clients, unchanged,
against a real server: the control plane, direct and S3 ingestion (the embedded bucket root and an
S3-compatible endpoint) of real PDF, DOCX, XLSX and HTML files, WEB crawls, Retrieve with filters, hybrid search, reranking and guardrails, RetrieveAndGenerate
with citations, a server killed mid-ingestion, and LangChain's retriever."""

import io
import signal
import time

import docx
import fpdf
import openpyxl

import pytest
from botocore.exceptions import ClientError

from conftest import Server, _client

MINILM = "arn:aws:bedrock:us-east-1::foundation-model/hf.all-minilm-l6-v2-v1:0"
SMOLLM2 = "hf.smollm2-135m-instruct-v1:0"
ROLE = "arn:aws:iam::123456789012:role/kb"

DOCS = {
    "backups": ("Database backups are taken every night at 02:00 UTC and kept for 35 days in a second region.", 2024, "ops"),
    "holidays": ("Employees get 25 days of paid holiday a year, and unused days carry over until March.", 2023, "hr"),
    "oncall": ("The on-call engineer is paged by the alerting system and must acknowledge within 15 minutes.", 2024, "ops"),
}


def create_kb(agent, name="handbook"):
    return agent.create_knowledge_base(
        name=name,
        roleArn=ROLE,
        knowledgeBaseConfiguration={
            "type": "VECTOR",
            "vectorKnowledgeBaseConfiguration": {"embeddingModelArn": MINILM},
        },
    )["knowledgeBase"]


def inline(doc_id, text, year=None, team=None):
    doc = {
        "content": {
            "dataSourceType": "CUSTOM",
            "custom": {
                "customDocumentIdentifier": {"id": doc_id},
                "sourceType": "IN_LINE",
                "inlineContent": {"type": "TEXT", "textContent": {"data": text}},
            },
        }
    }
    if year is not None:
        doc["metadata"] = {
            "type": "IN_LINE_ATTRIBUTE",
            "inlineAttributes": [
                {"key": "year", "value": {"type": "NUMBER", "numberValue": year}},
                {"key": "team", "value": {"type": "STRING", "stringValue": team}},
            ],
        }
    return doc


@pytest.fixture(scope="module")
def handbook(agent):
    kb = create_kb(agent)
    ds = agent.create_data_source(
        knowledgeBaseId=kb["knowledgeBaseId"], name="inline", dataSourceConfiguration={"type": "CUSTOM"}
    )["dataSource"]
    details = agent.ingest_knowledge_base_documents(
        knowledgeBaseId=kb["knowledgeBaseId"],
        dataSourceId=ds["dataSourceId"],
        documents=[inline(i, *v) for i, v in DOCS.items()],
    )["documentDetails"]
    assert [d["status"] for d in details] == ["INDEXED"] * 3
    return kb["knowledgeBaseId"], ds["dataSourceId"]


def test_control_plane_round_trips_and_errors_are_bedrock_agent_shaped(agent):
    kb = create_kb(agent, "control")
    kb_id = kb["knowledgeBaseId"]
    assert kb["status"] == "ACTIVE" and kb["knowledgeBaseArn"].endswith(f":knowledge-base/{kb_id}")
    assert agent.get_knowledge_base(knowledgeBaseId=kb_id)["knowledgeBase"]["name"] == "control"
    ids = [s["knowledgeBaseId"] for s in agent.list_knowledge_bases()["knowledgeBaseSummaries"]]
    assert kb_id in ids
    updated = agent.update_knowledge_base(
        knowledgeBaseId=kb_id,
        name="control2",
        description="renamed",
        roleArn=ROLE,
        knowledgeBaseConfiguration=kb["knowledgeBaseConfiguration"],
    )["knowledgeBase"]
    assert (updated["name"], updated["description"]) == ("control2", "renamed")

    ds = agent.create_data_source(
        knowledgeBaseId=kb_id,
        name="chunked",
        dataSourceConfiguration={"type": "CUSTOM"},
        vectorIngestionConfiguration={
            "chunkingConfiguration": {
                "chunkingStrategy": "FIXED_SIZE",
                "fixedSizeChunkingConfiguration": {"maxTokens": 100, "overlapPercentage": 10},
            }
        },
        dataDeletionPolicy="RETAIN",
    )["dataSource"]
    got = agent.get_data_source(knowledgeBaseId=kb_id, dataSourceId=ds["dataSourceId"])["dataSource"]
    assert got["vectorIngestionConfiguration"]["chunkingConfiguration"]["chunkingStrategy"] == "FIXED_SIZE"
    assert got["dataDeletionPolicy"] == "RETAIN"
    summaries = agent.list_data_sources(knowledgeBaseId=kb_id)["dataSourceSummaries"]
    assert [s["name"] for s in summaries] == ["chunked"]

    # A name already taken in the knowledge base: 409 in bedrock-agent.
    with pytest.raises(ClientError) as error:
        agent.create_data_source(knowledgeBaseId=kb_id, name="chunked", dataSourceConfiguration={"type": "CUSTOM"})
    assert error.value.response["Error"]["Code"] == "ConflictException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409

    with pytest.raises(ClientError) as error:
        agent.create_knowledge_base(
            name="wrongdims",
            roleArn=ROLE,
            knowledgeBaseConfiguration={
                "type": "VECTOR",
                "vectorKnowledgeBaseConfiguration": {
                    "embeddingModelArn": MINILM,
                    "embeddingModelConfiguration": {"bedrockEmbeddingModelConfiguration": {"dimensions": 1024}},
                },
            },
        )
    response = error.value.response
    assert response["Error"]["Code"] == "ValidationException"
    assert response["fieldList"][0]["name"].endswith("bedrockEmbeddingModelConfiguration.dimensions")

    with pytest.raises(ClientError) as error:
        agent.create_data_source(
            knowledgeBaseId=kb_id,
            name="semantic",
            dataSourceConfiguration={"type": "CUSTOM"},
            vectorIngestionConfiguration={
                "chunkingConfiguration": {
                    "chunkingStrategy": "HIERARCHICAL",
                    "hierarchicalChunkingConfiguration": {
                        "levelConfigurations": [{"maxTokens": 100}, {"maxTokens": 300}],
                        "overlapTokens": 10,
                    },
                }
            },
        )
    assert "levelConfigurations.1.maxTokens" in error.value.response["Error"]["Message"]

    with pytest.raises(ClientError) as error:
        agent.get_knowledge_base(knowledgeBaseId="KBMISSING0")
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # boto3 sends ids it cannot check the pattern of; the server names the path parameter.
    with pytest.raises(ClientError) as error:
        agent.get_knowledge_base(knowledgeBaseId="bad id!")
    assert error.value.response["fieldList"][0]["name"] == "knowledgeBaseId"

    deleted = agent.delete_data_source(knowledgeBaseId=kb_id, dataSourceId=ds["dataSourceId"])
    assert deleted["status"] == "DELETING"
    assert agent.delete_knowledge_base(knowledgeBaseId=kb_id)["status"] == "DELETING"
    with pytest.raises(ClientError) as error:
        agent.get_knowledge_base(knowledgeBaseId=kb_id)
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_documents_are_listed_fetched_and_deleted(agent, agent_runtime):
    kb = create_kb(agent, "docs")["knowledgeBaseId"]
    ds = agent.create_data_source(knowledgeBaseId=kb, name="d", dataSourceConfiguration={"type": "CUSTOM"})[
        "dataSource"
    ]["dataSourceId"]
    raw = {
        "content": {
            "dataSourceType": "CUSTOM",
            "custom": {
                "customDocumentIdentifier": {"id": "notes.md"},
                "sourceType": "IN_LINE",
                "inlineContent": {
                    "type": "BYTE",
                    "byteContent": {"mimeType": "text/markdown", "data": b"# Notes\nThe VPN password rotates monthly."},
                },
            },
        }
    }
    scanned = dict(raw, content=dict(raw["content"], custom=dict(raw["content"]["custom"], customDocumentIdentifier={"id": "scan.pdf"}, inlineContent={"type": "BYTE", "byteContent": {"mimeType": "application/pdf", "data": b"%PDF-"}})))
    details = agent.ingest_knowledge_base_documents(knowledgeBaseId=kb, dataSourceId=ds, documents=[raw, scanned])[
        "documentDetails"
    ]
    assert [d["status"] for d in details] == ["INDEXED", "FAILED"]
    assert "not a valid PDF" in details[1]["statusReason"]
    listed = agent.list_knowledge_base_documents(knowledgeBaseId=kb, dataSourceId=ds)["documentDetails"]
    assert sorted(d["identifier"]["custom"]["id"] for d in listed) == ["notes.md", "scan.pdf"]
    results = agent_runtime.retrieve(knowledgeBaseId=kb, retrievalQuery={"text": "VPN password"})["retrievalResults"]
    assert results[0]["location"] == {"type": "CUSTOM", "customDocumentLocation": {"id": "notes.md"}}
    ident = [{"dataSourceType": "CUSTOM", "custom": {"id": "notes.md"}}]
    agent.delete_knowledge_base_documents(knowledgeBaseId=kb, dataSourceId=ds, documentIdentifiers=ident)
    got = agent.get_knowledge_base_documents(knowledgeBaseId=kb, dataSourceId=ds, documentIdentifiers=ident)
    assert got["documentDetails"][0]["status"] == "NOT_FOUND"
    assert agent_runtime.retrieve(knowledgeBaseId=kb, retrievalQuery={"text": "VPN password"})["retrievalResults"] == []


def test_retrieve_ranks_by_meaning_and_filters_inside_the_search(agent_runtime, handbook):
    kb, _ = handbook
    results = agent_runtime.retrieve(
        knowledgeBaseId=kb, retrievalQuery={"text": "How long do we keep database backups?"}
    )["retrievalResults"]
    assert results[0]["location"]["customDocumentLocation"]["id"] == "backups"
    assert results[0]["metadata"]["year"] == 2024 and 0 < results[0]["score"] <= 1
    filtered = agent_runtime.retrieve(
        knowledgeBaseId=kb,
        retrievalQuery={"text": "How long do we keep database backups?"},
        retrievalConfiguration={
            "vectorSearchConfiguration": {
                "numberOfResults": 1,
                "filter": {"andAll": [{"equals": {"key": "team", "value": "ops"}}, {"notEquals": {"key": "year", "value": 2024}}]},
            }
        },
    )["retrievalResults"]
    assert filtered == []
    filtered = agent_runtime.retrieve(
        knowledgeBaseId=kb,
        retrievalQuery={"text": "How long do we keep database backups?"},
        retrievalConfiguration={
            "vectorSearchConfiguration": {"numberOfResults": 1, "filter": {"in": {"key": "team", "value": ["hr"]}}}
        },
    )["retrievalResults"]
    assert [r["location"]["customDocumentLocation"]["id"] for r in filtered] == ["holidays"]
    with pytest.raises(ClientError) as error:
        agent_runtime.retrieve(
            knowledgeBaseId=kb,
            retrievalQuery={"text": "x"},
            retrievalConfiguration={"vectorSearchConfiguration": {"filter": {"greaterThan": {"key": "year", "value": "2020"}}}},
        )
    # boto3 checks the union's keys itself, not the value's type: the server names it.
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert "filter.greaterThan.value" in error.value.response["Error"]["Message"]


def test_retrieve_and_generate_cites_what_it_retrieved(agent_runtime, handbook):
    kb, _ = handbook
    request = dict(
        input={"text": "How many days are database backups kept?"},
        retrieveAndGenerateConfiguration={
            "type": "KNOWLEDGE_BASE",
            "knowledgeBaseConfiguration": {
                "knowledgeBaseId": kb,
                "modelArn": SMOLLM2,
                "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": 2}},
                "generationConfiguration": {
                    "inferenceConfig": {"textInferenceConfig": {"maxTokens": 48, "temperature": 0}}
                },
            },
        },
    )
    answer = agent_runtime.retrieve_and_generate(**request)
    text = answer["output"]["text"]
    assert text and answer["sessionId"]
    for citation in answer["citations"]:
        part = citation["generatedResponsePart"]["textResponsePart"]
        assert text[part["span"]["start"] : part["span"]["end"] + 1] == part["text"]
        for reference in citation["retrievedReferences"]:
            assert reference["location"]["customDocumentLocation"]["id"] in DOCS
    cited = [r["location"]["customDocumentLocation"]["id"] for c in answer["citations"] for r in c["retrievedReferences"]]
    assert "backups" in cited, (text, cited)
    follow_up = agent_runtime.retrieve_and_generate(sessionId=answer["sessionId"], **request)
    assert follow_up["sessionId"] == answer["sessionId"]

    # Streamed at temperature 0: the same text, then the same citations.
    streamed = agent_runtime.retrieve_and_generate_stream(**request)
    assert streamed["sessionId"] and streamed["sessionId"] != answer["sessionId"]
    events = list(streamed["stream"])
    text_events = [e["output"]["text"] for e in events if "output" in e]
    citations = [e["citation"] for e in events if "citation" in e]
    assert len(text_events) > 1, "the answer came in one piece"
    assert "".join(text_events) == text
    assert [c["generatedResponsePart"] for c in citations] == [c["generatedResponsePart"] for c in answer["citations"]]


def wait_for_job(agent, kb, ds, job_id):
    for _ in range(600):
        job = agent.get_ingestion_job(knowledgeBaseId=kb, dataSourceId=ds, ingestionJobId=job_id)["ingestionJob"]
        if job["status"] in ("COMPLETE", "FAILED", "STOPPED"):
            return job
        time.sleep(0.1)
    raise AssertionError("the ingestion job did not finish")


def test_s3_ingestion_jobs_read_the_embedded_bucket_root(agent, agent_runtime, server):
    bucket = server.data_dir / "buckets" / "team-docs"
    (bucket / "kb").mkdir(parents=True)
    (bucket / "kb" / "backups.txt").write_text(DOCS["backups"][0])
    (bucket / "kb" / "backups.txt.metadata.json").write_text('{"metadataAttributes": {"team": "ops"}}')
    (bucket / "kb" / "holidays.md").write_text(DOCS["holidays"][0])
    kb = create_kb(agent, "s3kb")["knowledgeBaseId"]
    ds = agent.create_data_source(
        knowledgeBaseId=kb,
        name="bucket",
        dataSourceConfiguration={
            "type": "S3",
            "s3Configuration": {"bucketArn": "arn:aws:s3:::team-docs", "inclusionPrefixes": ["kb/"]},
        },
    )["dataSource"]["dataSourceId"]
    started = agent.start_ingestion_job(knowledgeBaseId=kb, dataSourceId=ds)["ingestionJob"]
    assert started["status"] == "STARTING"
    job = wait_for_job(agent, kb, ds, started["ingestionJobId"])
    assert job["status"] == "COMPLETE", job
    assert job["statistics"]["numberOfNewDocumentsIndexed"] == 2
    assert job["statistics"]["numberOfMetadataDocumentsScanned"] == 1
    results = agent_runtime.retrieve(
        knowledgeBaseId=kb,
        retrievalQuery={"text": "backup retention"},
        retrievalConfiguration={"vectorSearchConfiguration": {"filter": {"equals": {"key": "team", "value": "ops"}}}},
    )["retrievalResults"]
    assert [r["location"]["s3Location"]["uri"] for r in results] == ["s3://team-docs/kb/backups.txt"]
    jobs = agent.list_ingestion_jobs(
        knowledgeBaseId=kb, dataSourceId=ds, filters=[{"attribute": "STATUS", "operator": "EQ", "values": ["COMPLETE"]}]
    )["ingestionJobSummaries"]
    assert [j["ingestionJobId"] for j in jobs] == [started["ingestionJobId"]]



def test_s3_data_sources_read_an_s3_compatible_endpoint(tmp_path):
    """`[s3] endpoint` points S3 data sources at an S3-compatible service: here moto's server on
    127.0.0.1, filled and changed through boto3's own S3 client."""
    import boto3
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    endpoint = "http://%s:%d" % moto.get_host_and_port()
    server = None
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="minio", aws_secret_access_key="minio-secret")
        s3.create_bucket(Bucket="remote-docs")
        s3.put_object(Bucket="remote-docs", Key="kb/backups.txt", Body=DOCS["backups"][0].encode())
        s3.put_object(Bucket="remote-docs", Key="kb/backups.txt.metadata.json",
                      Body=b'{"metadataAttributes": {"team": "ops"}}')
        s3.put_object(Bucket="remote-docs", Key="kb/deep/holidays.md", Body=DOCS["holidays"][0].encode())
        s3.put_object(Bucket="remote-docs", Key="kbx/outside.txt", Body=b"Outside the prefix.")
        server = Server(tmp_path, install_dist=False, settings=(
            f'[s3]\nendpoint = "{endpoint}"\naccess-key-id = "minio"\nsecret-access-key = "minio-secret"\n'))
        agent = _client("bedrock-agent", server)
        runtime = _client("bedrock-agent-runtime", server)
        kb = create_kb(agent, "remote")["knowledgeBaseId"]

        def source(name, bucket):
            return agent.create_data_source(
                knowledgeBaseId=kb,
                name=name,
                dataSourceConfiguration={
                    "type": "S3",
                    "s3Configuration": {"bucketArn": f"arn:aws:s3:::{bucket}", "inclusionPrefixes": ["kb/"]},
                },
            )["dataSource"]["dataSourceId"]

        def ingest(ds):
            job_id = agent.start_ingestion_job(knowledgeBaseId=kb, dataSourceId=ds)["ingestionJob"]["ingestionJobId"]
            return wait_for_job(agent, kb, ds, job_id)

        ds = source("remote", "remote-docs")
        job = ingest(ds)
        assert job["status"] == "COMPLETE", job
        assert job["statistics"]["numberOfNewDocumentsIndexed"] == 2
        assert job["statistics"]["numberOfMetadataDocumentsScanned"] == 1
        results = runtime.retrieve(
            knowledgeBaseId=kb,
            retrievalQuery={"text": "backup retention"},
            retrievalConfiguration={"vectorSearchConfiguration": {"filter": {"equals": {"key": "team", "value": "ops"}}}},
        )["retrievalResults"]
        assert [r["location"]["s3Location"]["uri"] for r in results] == ["s3://remote-docs/kb/backups.txt"]

        # Changes in the bucket reach the index on the next run: one deleted, one changed.
        s3.delete_object(Bucket="remote-docs", Key="kb/deep/holidays.md")
        s3.put_object(Bucket="remote-docs", Key="kb/backups.txt", Body=b"Backups are now kept for 90 days.")
        job = ingest(ds)
        assert job["status"] == "COMPLETE", job
        assert job["statistics"]["numberOfDocumentsDeleted"] == 1
        assert job["statistics"]["numberOfModifiedDocumentsIndexed"] == 1
        top = runtime.retrieve(knowledgeBaseId=kb, retrievalQuery={"text": "how long are backups kept"})["retrievalResults"]
        assert [r["content"]["text"] for r in top] == ["Backups are now kept for 90 days."]

        # A bucket the service does not have fails its job with a reason that names it.
        job = ingest(source("missing", "no-such-bucket"))
        assert job["status"] == "FAILED", job
        assert "no-such-bucket" in " ".join(job["failureReasons"]), job
    finally:
        if server is not None:
            server.stop()
        moto.stop()


def test_web_data_sources_crawl_a_site_through_boto3(agent, agent_runtime, tmp_path):
    """A WEB data source made by boto3 crawls a static site served on 127.0.0.1."""
    import functools
    import http.server
    import threading

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.html").write_text(
        '<html><body><h1>Handbook</h1><a href="backups.html">backups</a> <a href="/other/">elsewhere</a></body></html>'
    )
    (tmp_path / "docs" / "backups.html").write_text(
        "<html><body><p>" + DOCS["backups"][0] + "</p></body></html>"
    )
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "index.html").write_text("<html><body>Outside the seed's path.</body></html>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{site.server_address[1]}"
    try:
        kb = create_kb(agent, "webkb")["knowledgeBaseId"]
        ds = agent.create_data_source(
            knowledgeBaseId=kb,
            name="site",
            dataSourceConfiguration={
                "type": "WEB",
                "webConfiguration": {
                    "sourceConfiguration": {"urlConfiguration": {"seedUrls": [{"url": f"{origin}/docs/"}]}},
                    "crawlerConfiguration": {"crawlerLimits": {"rateLimit": 300, "maxPages": 10}},
                },
            },
        )["dataSource"]
        assert ds["dataSourceConfiguration"]["webConfiguration"]["crawlerConfiguration"]["crawlerLimits"] == {
            "rateLimit": 300,
            "maxPages": 10,
        }
        started = agent.start_ingestion_job(knowledgeBaseId=kb, dataSourceId=ds["dataSourceId"])["ingestionJob"]
        job = wait_for_job(agent, kb, ds["dataSourceId"], started["ingestionJobId"])
        assert job["status"] == "COMPLETE", job
        assert job["statistics"]["numberOfNewDocumentsIndexed"] == 2, job
        results = agent_runtime.retrieve(
            knowledgeBaseId=kb,
            retrievalQuery={"text": "How long are backups kept?"},
            retrievalConfiguration={"vectorSearchConfiguration": {"numberOfResults": 1}},
        )["retrievalResults"]
        assert results[0]["location"] == {"type": "WEB", "webLocation": {"url": f"{origin}/docs/backups.html"}}
        with pytest.raises(ClientError) as error:
            agent.create_data_source(
                knowledgeBaseId=kb,
                name="bad",
                dataSourceConfiguration={
                    "type": "WEB",
                    "webConfiguration": {"sourceConfiguration": {"urlConfiguration": {"seedUrls": [{"url": "ftp://x"}]}}},
                },
            )
        assert error.value.response["Error"]["Code"] == "ValidationException"
        assert "seedUrls.0.url" in error.value.response["Error"]["Message"]
    finally:
        site.shutdown()

def make_pdf(pages):
    pdf = fpdf.FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    return bytes(pdf.output())


def make_docx(heading, paragraph, rows):
    document = docx.Document()
    document.add_heading(heading, level=1)
    document.add_paragraph(paragraph)
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            table.cell(r, c).text = cell
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_xlsx(rows):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Offices"
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_pdf_docx_xlsx_and_html_files_are_parsed_and_a_broken_one_fails_alone(agent, agent_runtime, server):
    bucket = server.data_dir / "buckets" / "office-docs"
    bucket.mkdir(parents=True)
    (bucket / "travel.pdf").write_bytes(
        make_pdf(["Travel policy.", "Flights longer than six hours may be booked in premium economy."])
    )
    (bucket / "security.docx").write_bytes(
        make_docx(
            "Security",
            "Laptops must use full-disk encryption with a recovery key escrowed in the vault.",
            [["System", "Owner"], ["Payroll service", "Finance platform team"]],
        )
    )
    (bucket / "offices.xlsx").write_bytes(
        make_xlsx([["City", "Desks"], ["Lisbon", 120], ["Nairobi", 45]])
    )
    (bucket / "garden.html").write_text(
        "<html><head><title>Garden</title><script>var tracking = 1;</script></head><body>"
        "<nav>Home | About</nav><h1>Rooftop garden</h1>"
        "<p>The rooftop garden is open to staff from May to September &amp; closes at dusk.</p></body></html>"
    )
    (bucket / "broken.pdf").write_bytes(b"%PDF-1.7 this file was cut short")
    kb = create_kb(agent, "officekb")["knowledgeBaseId"]
    ds = agent.create_data_source(
        knowledgeBaseId=kb,
        name="office",
        dataSourceConfiguration={"type": "S3", "s3Configuration": {"bucketArn": "arn:aws:s3:::office-docs"}},
    )["dataSource"]["dataSourceId"]
    job_id = agent.start_ingestion_job(knowledgeBaseId=kb, dataSourceId=ds)["ingestionJob"]["ingestionJobId"]
    job = wait_for_job(agent, kb, ds, job_id)
    assert job["status"] == "COMPLETE", job
    assert job["statistics"]["numberOfNewDocumentsIndexed"] == 4, job
    assert job["statistics"]["numberOfDocumentsFailed"] == 1, job
    assert any("broken.pdf" in r and "pdf" in r for r in job["failureReasons"]), job

    def top(question):
        results = agent_runtime.retrieve(
            knowledgeBaseId=kb,
            retrievalQuery={"text": question},
            retrievalConfiguration={"vectorSearchConfiguration": {"numberOfResults": 1}},
        )["retrievalResults"]
        return results[0]["location"]["s3Location"]["uri"], results[0]["content"]["text"]

    uri, text = top("Can I fly premium economy on long flights?")
    assert uri == "s3://office-docs/travel.pdf" and "premium economy" in text
    uri, text = top("Who owns the payroll service?")
    assert uri == "s3://office-docs/security.docx" and "Finance platform team" in text, text
    uri, text = top("How many desks are in Nairobi?")
    assert uri == "s3://office-docs/offices.xlsx" and "Nairobi" in text and "45" in text, text
    uri, text = top("When is the rooftop garden open?")
    assert uri == "s3://office-docs/garden.html" and "&" in text and "tracking" not in text, text


def test_hybrid_search_rerank_and_guardrails_through_boto3(agent, agent_runtime, bedrock, handbook):
    kb, ds = handbook
    codes = {"E-4471": "the disk quota is exceeded", "E-5120": "the volume ran out of inodes", "E-3302": "the volume is read-only"}
    agent.ingest_knowledge_base_documents(
        knowledgeBaseId=kb,
        dataSourceId=ds,
        documents=[inline(code, f"Error {code} means that {meaning}.") for code, meaning in codes.items()],
    )
    for code in codes:
        results = agent_runtime.retrieve(
            knowledgeBaseId=kb,
            retrievalQuery={"text": f"error {code}"},
            retrievalConfiguration={"vectorSearchConfiguration": {"numberOfResults": 2, "overrideSearchType": "HYBRID"}},
        )["retrievalResults"]
        assert results[0]["location"]["customDocumentLocation"]["id"] == code

    reranked = agent_runtime.rerank(
        queries=[{"type": "TEXT", "textQuery": {"text": "How long are backups kept?"}}],
        sources=[
            {"type": "INLINE", "inlineDocumentSource": {"type": "TEXT", "textDocument": {"text": text}}}
            for text in ("The parking garage closes at ten.", DOCS["backups"][0], DOCS["holidays"][0])
        ],
        rerankingConfiguration={
            "type": "BEDROCK_RERANKING_MODEL",
            "bedrockRerankingConfiguration": {
                "numberOfResults": 2,
                "modelConfiguration": {"modelArn": "arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0"},
            },
        },
    )["results"]
    assert [r["index"] for r in reranked][0] == 1 and len(reranked) == 2
    assert 0 <= reranked[1]["relevanceScore"] <= reranked[0]["relevanceScore"] <= 1

    guardrail = bedrock.create_guardrail(
        name="kb-guard",
        blockedInputMessaging="Not allowed.",
        blockedOutputsMessaging="Not allowed.",
        wordPolicyConfig={"wordsConfig": [{"text": "salary"}]},
    )["guardrailId"]
    guarded = agent_runtime.retrieve(
        knowledgeBaseId=kb,
        retrievalQuery={"text": "What is the CEO's salary?"},
        guardrailConfiguration={"guardrailId": guardrail, "guardrailVersion": "DRAFT"},
    )
    assert guarded["guardrailAction"] == "INTERVENED" and guarded["retrievalResults"] == []
    answer = agent_runtime.retrieve_and_generate(
        input={"text": "Tell me the salary bands."},
        retrieveAndGenerateConfiguration={
            "type": "KNOWLEDGE_BASE",
            "knowledgeBaseConfiguration": {
                "knowledgeBaseId": kb,
                "modelArn": SMOLLM2,
                "generationConfiguration": {"guardrailConfiguration": {"guardrailId": guardrail, "guardrailVersion": "DRAFT"}},
            },
        },
    )
    assert answer["output"]["text"] == "Not allowed." and answer["guardrailAction"] == "INTERVENED"
    with pytest.raises(ClientError) as error:
        agent_runtime.retrieve(
            knowledgeBaseId=kb,
            retrievalQuery={"text": "x"},
            guardrailConfiguration={"guardrailId": "nosuchguardrail1", "guardrailVersion": "DRAFT"},
        )
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_converse_reads_document_blocks(runtime):
    question = {"text": "Which badge do visitors show at the gate? Answer with the badge only."}

    def ask(*content, **kw):
        return runtime.converse(modelId=SMOLLM2, messages=[{"role": "user", "content": list(content)}], **kw)

    def document(fmt, name, data):
        return {"document": {"format": fmt, "name": name, "source": {"bytes": data}}}

    policy = make_docx("Parking", "Visitors park on level minus two and show the badge QX-19 at the gate.", [["Level", "Use"], ["-2", "Visitors"]])
    reply = ask(document("docx", "parking policy", policy), question, inferenceConfig={"maxTokens": 24, "temperature": 0})
    bare = ask(question, inferenceConfig={"maxTokens": 1})
    # The document's text reached the prompt: its sentence and table cost their tokens.
    assert reply["usage"]["inputTokens"] >= bare["usage"]["inputTokens"] + 20, (reply["usage"], bare["usage"])
    assert reply["output"]["message"]["content"][0]["text"]
    for doc, field in [
        (document("pdf", "report.pdf", make_pdf(["x"])), "messages.0.content.0.document.name"),
        (document("pdf", "report", b"%PDF-1.4 cut"), "messages.0.content.0.document.source.bytes"),
    ]:
        with pytest.raises(ClientError) as error:
            ask(doc, {"text": "Summarise."})
        assert error.value.response["Error"]["Code"] == "ValidationException"
        assert field in error.value.response["Error"]["Message"]


def test_a_server_killed_mid_ingestion_keeps_whole_documents_only(tmp_path):
    bucket = tmp_path / "buckets" / "bulk"
    bucket.mkdir(parents=True)
    topics = ["backups", "holidays", "oncall"]
    for i in range(240):
        text, _, _ = DOCS[topics[i % 3]]
        (bucket / f"doc{i:03}.txt").write_text(f"Document {i}. {text}")
    server = Server(tmp_path, install_dist=False)
    try:
        agent = _client("bedrock-agent", server)
        kb = create_kb(agent, "bulk")["knowledgeBaseId"]
        ds = agent.create_data_source(
            knowledgeBaseId=kb,
            name="bulk",
            dataSourceConfiguration={"type": "S3", "s3Configuration": {"bucketArn": "arn:aws:s3:::bulk"}},
        )["dataSource"]["dataSourceId"]
        job_id = agent.start_ingestion_job(knowledgeBaseId=kb, dataSourceId=ds)["ingestionJob"]["ingestionJobId"]
        for _ in range(600):
            job = agent.get_ingestion_job(knowledgeBaseId=kb, dataSourceId=ds, ingestionJobId=job_id)["ingestionJob"]
            if job["statistics"]["numberOfNewDocumentsIndexed"] >= 5 or job["status"] == "COMPLETE":
                break
            time.sleep(0.02)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
    finally:
        server.stop()

    restarted = Server(tmp_path, install_dist=False)
    try:
        agent = _client("bedrock-agent", restarted)
        runtime = _client("bedrock-agent-runtime", restarted)
        job = agent.get_ingestion_job(knowledgeBaseId=kb, dataSourceId=ds, ingestionJobId=job_id)["ingestionJob"]
        assert job["status"] in ("FAILED", "COMPLETE"), job
        indexed = [
            d
            for d in agent.list_knowledge_base_documents(knowledgeBaseId=kb, dataSourceId=ds)["documentDetails"]
            if d["status"] == "INDEXED"
        ]
        assert indexed, "no document survived the kill"
        results = runtime.retrieve(
            knowledgeBaseId=kb,
            retrievalQuery={"text": "Document 1. backups"},
            retrievalConfiguration={"vectorSearchConfiguration": {"numberOfResults": 100}},
        )["retrievalResults"]
        uris = [r["location"]["s3Location"]["uri"] for r in results]
        assert len(uris) == len(set(uris)), "a chunk was indexed twice"
        assert len(uris) == min(100, len(indexed))
        # A new job finishes what the killed one left, and nothing is embedded twice.
        job_id = agent.start_ingestion_job(knowledgeBaseId=kb, dataSourceId=ds)["ingestionJob"]["ingestionJobId"]
        job = wait_for_job(agent, kb, ds, job_id)
        stats = job["statistics"]
        assert job["status"] == "COMPLETE", job
        assert stats["numberOfDocumentsSkipped"] == len(indexed)
        assert stats["numberOfNewDocumentsIndexed"] == 240 - len(indexed)
    finally:
        restarted.stop()


def test_langchain_knowledge_base_retriever_works_unchanged(agent_runtime, handbook):
    from langchain_aws.retrievers import AmazonKnowledgeBasesRetriever

    kb, _ = handbook
    retriever = AmazonKnowledgeBasesRetriever(
        knowledge_base_id=kb,
        retrieval_config={"vectorSearchConfiguration": {"numberOfResults": 2}},
        client=agent_runtime,
    )
    documents = retriever.invoke("Who gets paged when an alert fires?")
    assert len(documents) == 2
    assert "on-call" in documents[0].page_content
    assert documents[0].metadata["location"]["customDocumentLocation"]["id"] == "oncall"
