//! WEB data sources: a site served on 127.0.0.1 by the test, crawled through the service.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use mantle_knowledge::output::IngestionJobStatus;
use mantle_knowledge::{DataSourceId, Knowledge, KnowledgeBaseId, ListInput};
use serde_json::{Value, json};

use super::{Fixture, create_ds, create_kb, field_of, finish, parse, query, retrieve};

/// One request the site answered.
#[derive(Debug, Clone)]
struct Hit {
    host: String,
    path: String,
    user_agent: String,
    at: Instant,
}

/// A page's content type and body; the type `redirect` answers 301 to the body.
type Served = (String, Vec<u8>);

/// A site whose pages the test changes between crawls.
#[derive(Clone, Default)]
struct Site {
    pages: Arc<Mutex<HashMap<String, Served>>>,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Site {
    fn put(&self, path: &str, content_type: &str, body: impl Into<Vec<u8>>) {
        self.pages
            .lock()
            .unwrap()
            .insert(path.to_owned(), (content_type.to_owned(), body.into()));
    }

    fn html(&self, path: &str, body: &str) {
        self.put(
            path,
            "text/html; charset=utf-8",
            format!("<!doctype html><html><body>{body}</body></html>"),
        );
    }

    fn remove(&self, path: &str) {
        self.pages.lock().unwrap().remove(path);
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    fn paths(&self) -> BTreeSet<String> {
        self.hits().into_iter().map(|h| h.path).collect()
    }

    /// Serves the site on a random loopback port and answers its origin.
    async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = Router::new().fallback(answer).with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://127.0.0.1:{port}")
    }
}

async fn answer(State(site): State<Site>, request: Request) -> Response {
    let header = |name: header::HeaderName| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let path = request.uri().path().to_owned();
    site.hits.lock().unwrap().push(Hit {
        host: header(header::HOST),
        path: path.clone(),
        user_agent: header(header::USER_AGENT),
        at: Instant::now(),
    });
    let page = site.pages.lock().unwrap().get(&path).cloned();
    match page {
        Some((kind, target)) if kind == "redirect" => (
            StatusCode::MOVED_PERMANENTLY,
            [(header::LOCATION, String::from_utf8(target).unwrap())],
        )
            .into_response(),
        Some((kind, body)) => ([(header::CONTENT_TYPE, kind)], body).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The service with crawls allowed onto loopback, where the tests' sites are.
fn crawler(fixture: &Fixture) -> Knowledge {
    let knowledge = fixture.open();
    knowledge.set_crawl_private_networks(true);
    knowledge
}

fn web_ds(knowledge: &Knowledge, kb: &KnowledgeBaseId, web: Value) -> DataSourceId {
    create_ds(
        knowledge,
        kb,
        json!({"name": "site", "dataSourceConfiguration": {"type": "WEB", "webConfiguration": web}}),
    )
}

/// The URLs of the data source's documents in the given status.
fn documents(
    knowledge: &Knowledge,
    kb: &KnowledgeBaseId,
    ds: &DataSourceId,
    status: &str,
) -> BTreeSet<String> {
    let page = knowledge
        .list_documents(kb, ds, &ListInput::default())
        .unwrap();
    let page = serde_json::to_value(page).unwrap();
    page["documentDetails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["status"] == status)
        .map(|d| {
            assert_eq!(d["identifier"]["dataSourceType"], "WEB", "{d}");
            d["identifier"]["web"]["url"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// A handbook site: pages in and out of `/docs/`, one the robots.txt forbids, one linked
/// `nofollow`, one marked `noindex`, an image, a redirect and a broken link.
fn handbook(site: &Site, origin: &str) {
    // The group for Bedrock's crawler applies; the catch-all group would forbid everything.
    site.put(
        "/robots.txt",
        "text/plain",
        "User-agent: *\nDisallow: /\n\nUser-agent: bedrockbot\nDisallow: /docs/private\n",
    );
    site.html(
        "/docs/",
        &format!(
            r#"<h1>Handbook</h1><p>Everything the operations team writes down.</p>
            <a href="a.html">backups</a> <a href="b.html#opening">office</a>
            <a href="/docs/private.html">private</a> <a href="/blog/post.html">blog</a>
            <a href="http://localhost:{port}/docs/c.html">other host</a>
            <a rel="nofollow" href="/docs/secret.html">secret</a>
            <a href="notes.txt">notes</a> <a href="logo.png">logo</a>
            <a href="missing.html">missing</a> <a href="hidden.html">hidden</a>
            <a href="moved.html">moved</a> <a href="mailto:ops@example.com">mail</a>"#,
            port = origin.rsplit(':').next().unwrap()
        ),
    );
    site.html(
        "/docs/a.html",
        r#"<p>Database backups run nightly at 02:00 and are kept for thirty days.</p>
        <a href="/docs/">home</a>"#,
    );
    site.html(
        "/docs/b.html",
        "<p>The office opens at nine and is closed on public holidays.</p>",
    );
    site.html("/docs/private.html", "<p>Salaries of everyone.</p>");
    site.html("/docs/secret.html", "<p>A page linked nofollow.</p>");
    site.html(
        "/docs/c.html",
        "<p>Reached only through another host name.</p>",
    );
    site.html(
        "/blog/post.html",
        "<p>A blog post outside the handbook.</p>",
    );
    site.put(
        "/docs/notes.txt",
        "text/plain",
        "Release notes: version two adds a dark mode to the dashboard.",
    );
    site.put("/docs/logo.png", "image/png", vec![0x89, b'P', b'N', b'G']);
    site.html(
        "/docs/hidden.html",
        r#"<meta name="robots" content="noindex"><p>Not for the index.</p>
        <a href="deep.html">deeper</a>"#,
    );
    site.html(
        "/docs/deep.html",
        "<p>Volcanoes erupt when magma rises through the crust.</p>",
    );
    site.put("/docs/moved.html", "redirect", "/docs/new.html");
    site.html(
        "/docs/new.html",
        "<p>The on-call rota changes every Monday.</p>",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_data_source_crawls_its_scope_obeys_robots_and_reindexes_what_changed() {
    let site = Site::default();
    let origin = site.serve().await;
    handbook(&site, &origin);
    let fixture = Fixture::new();
    let knowledge = crawler(&fixture);
    let kb = create_kb(&knowledge);
    let ds = web_ds(
        &knowledge,
        &kb,
        json!({
            "sourceConfiguration": {"urlConfiguration": {"seedUrls": [{"url": format!("{origin}/docs/")}]}},
            "crawlerConfiguration": {"crawlerLimits": {"rateLimit": 300}}
        }),
    );

    let job = finish(&knowledge, &kb, &ds).await;
    assert_eq!(job.status, IngestionJobStatus::Complete, "{job:?}");
    let url = |path: &str| format!("{origin}{path}");
    let indexed: BTreeSet<String> = [
        "/docs/",
        "/docs/a.html",
        "/docs/b.html",
        "/docs/notes.txt",
        "/docs/deep.html",
        "/docs/new.html",
    ]
    .into_iter()
    .map(url)
    .collect();
    assert_eq!(documents(&knowledge, &kb, &ds, "INDEXED"), indexed);
    let stats = &job.statistics;
    assert_eq!(
        (
            stats.number_of_new_documents_indexed,
            stats.number_of_documents_failed
        ),
        (6, 1),
        "{job:?}"
    );
    assert!(
        job.failure_reasons
            .iter()
            .any(|r| r.contains("/docs/missing.html") && r.contains("404")),
        "{:?}",
        job.failure_reasons
    );
    // Out of scope, forbidden by robots.txt, linked nofollow, or on another host: never
    // asked for.
    let paths = site.paths();
    for never in [
        "/docs/private.html",
        "/blog/post.html",
        "/docs/secret.html",
        "/docs/c.html",
    ] {
        assert!(!paths.contains(never), "{never} was fetched: {paths:?}");
    }
    let hits = site.hits();
    assert!(hits.iter().all(|h| h.host.starts_with("127.0.0.1")));
    assert!(
        hits.iter().all(|h| h.user_agent.starts_with("bedrockbot")),
        "{hits:?}"
    );
    assert_eq!(
        hits.iter().filter(|h| h.path == "/docs/a.html").count(),
        1,
        "a page linked twice is fetched once"
    );

    let results = retrieve(
        &knowledge,
        &kb,
        query(
            "How long are database backups kept?",
            json!({"numberOfResults": 1}),
        ),
    )
    .await;
    assert_eq!(results[0]["location"]["type"], "WEB");
    assert_eq!(
        results[0]["location"]["webLocation"]["url"],
        url("/docs/a.html")
    );
    assert_eq!(
        results[0]["metadata"]["x-amz-bedrock-kb-source-uri"],
        url("/docs/a.html")
    );

    // The site changes: one page rewritten, one taken down.
    site.html(
        "/docs/a.html",
        "<p>Database backups now run every six hours and are kept for ninety days.</p>",
    );
    site.remove("/docs/b.html");
    let job = finish(&knowledge, &kb, &ds).await;
    assert_eq!(job.status, IngestionJobStatus::Complete, "{job:?}");
    let stats = &job.statistics;
    assert_eq!(
        (
            stats.number_of_modified_documents_indexed,
            stats.number_of_documents_skipped,
            stats.number_of_documents_deleted,
            stats.number_of_new_documents_indexed,
        ),
        (1, 4, 1, 0),
        "{job:?}"
    );
    let indexed = documents(&knowledge, &kb, &ds, "INDEXED");
    assert!(!indexed.contains(&url("/docs/b.html")), "{indexed:?}");
    let results = retrieve(
        &knowledge,
        &kb,
        query(
            "How long are database backups kept?",
            json!({"numberOfResults": 1}),
        ),
    )
    .await;
    let text = results[0]["content"]["text"].as_str().unwrap();
    assert!(text.contains("ninety days"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_crawl_keeps_to_its_filters_page_limit_and_rate() {
    let site = Site::default();
    let origin = site.serve().await;
    handbook(&site, &origin);
    // No robots.txt at all: everything is allowed.
    site.remove("/robots.txt");
    let fixture = Fixture::new();
    let knowledge = crawler(&fixture);
    let kb = create_kb(&knowledge);
    let ds = web_ds(
        &knowledge,
        &kb,
        json!({
            "sourceConfiguration": {"urlConfiguration": {"seedUrls": [{"url": format!("{origin}/docs/")}]}},
            "crawlerConfiguration": {
                "scope": "HOST_ONLY",
                "inclusionFilters": [r"\.html$", "/blog/"],
                "exclusionFilters": [r"/docs/(b|private)\.html$"],
                "crawlerLimits": {"rateLimit": 60, "maxPages": 4},
                "userAgent": "handbook-indexer"
            }
        }),
    );
    let job = finish(&knowledge, &kb, &ds).await;
    assert_eq!(job.status, IngestionJobStatus::Complete, "{job:?}");
    let pages: Vec<Hit> = site
        .hits()
        .into_iter()
        .filter(|h| h.path != "/robots.txt")
        .collect();
    // The seed (indexed though the inclusion filters do not match it), then pages in link
    // order that pass the filters: the blog is in the host's scope; b.html is excluded and
    // notes.txt is not included.
    let order: Vec<&str> = pages.iter().map(|h| h.path.as_str()).collect();
    assert_eq!(
        order,
        [
            "/docs/",
            "/docs/a.html",
            "/blog/post.html",
            "/docs/missing.html"
        ]
    );
    assert_eq!(job.statistics.number_of_documents_scanned, 4);
    for pair in pages.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap.as_millis() >= 950,
            "pages one second apart at 60 a minute, got {gap:?}"
        );
    }
    assert!(
        pages[0].user_agent.ends_with(" handbook-indexer"),
        "{:?}",
        pages[0].user_agent
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_web_configurations_name_their_field() {
    let fixture = Fixture::new();
    let knowledge = crawler(&fixture);
    let kb = create_kb(&knowledge);
    let cases = [
        (
            json!({"sourceConfiguration": {"urlConfiguration": {"seedUrls": []}}}),
            "dataSourceConfiguration.webConfiguration.sourceConfiguration.urlConfiguration.seedUrls",
        ),
        (
            json!({"sourceConfiguration": {"urlConfiguration": {"seedUrls": [{"url": "https://example.com"}, {"url": "ftp://example.com/"}]}}}),
            "dataSourceConfiguration.webConfiguration.sourceConfiguration.urlConfiguration.seedUrls.1.url",
        ),
        (
            json!({"sourceConfiguration": {"urlConfiguration": {"seedUrls": [{"url": "https://example.com"}]}},
                   "crawlerConfiguration": {"crawlerLimits": {"rateLimit": 301}}}),
            "dataSourceConfiguration.webConfiguration.crawlerConfiguration.crawlerLimits.rateLimit",
        ),
        (
            json!({"sourceConfiguration": {"urlConfiguration": {"seedUrls": [{"url": "https://example.com"}]}},
                   "crawlerConfiguration": {"exclusionFilters": ["ok", "(unclosed"]}}),
            "dataSourceConfiguration.webConfiguration.crawlerConfiguration.exclusionFilters.1",
        ),
        (
            json!({"sourceConfiguration": {"urlConfiguration": {"seedUrls": [{"url": "https://example.com"}]}},
                   "crawlerConfiguration": {"userAgent": "short"}}),
            "dataSourceConfiguration.webConfiguration.crawlerConfiguration.userAgent",
        ),
    ];
    for (web, field) in cases {
        let body = json!({"name": "site", "dataSourceConfiguration": {"type": "WEB", "webConfiguration": web}});
        let error = knowledge.create_data_source(&kb, parse(body)).unwrap_err();
        assert_eq!(field_of(error), field);
    }
    let body = json!({"name": "site", "dataSourceConfiguration": {"type": "WEB"}});
    let error = knowledge.create_data_source(&kb, parse(body)).unwrap_err();
    assert_eq!(field_of(error), "dataSourceConfiguration.webConfiguration");
    let page = knowledge
        .list_data_sources(&kb, &ListInput::default())
        .unwrap();
    assert!(page.data_source_summaries.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_crawl_stops_while_it_waits_and_deletes_nothing() {
    let site = Site::default();
    let origin = site.serve().await;
    handbook(&site, &origin);
    let fixture = Fixture::new();
    let knowledge = crawler(&fixture);
    let kb = create_kb(&knowledge);
    let web = |rate: u32| {
        json!({"name": "site", "dataSourceConfiguration": {"type": "WEB", "webConfiguration": {
            "sourceConfiguration": {"urlConfiguration": {"seedUrls": [{"url": format!("{origin}/docs/")}]}},
            "crawlerConfiguration": {"crawlerLimits": {"rateLimit": rate}}
        }}})
    };
    let ds = create_ds(&knowledge, &kb, web(300));
    let full = finish(&knowledge, &kb, &ds).await;
    assert_eq!(full.statistics.number_of_new_documents_indexed, 6);

    // One page a minute: the crawl reads the seed, then waits.
    let update: mantle_knowledge::input::DataSourceInput = parse(web(1));
    knowledge.update_data_source(&kb, &ds, update).unwrap();
    let job = knowledge
        .start_ingestion_job(&kb, &ds, Default::default())
        .unwrap();
    let id = job.ingestion_job_id;
    let started = Instant::now();
    while knowledge
        .get_ingestion_job(&kb, &ds, &id)
        .unwrap()
        .statistics
        .number_of_documents_skipped
        == 0
    {
        assert!(started.elapsed().as_secs() < 30, "the seed was not read");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    knowledge.stop_ingestion_job(&kb, &ds, &id).unwrap();
    let stopped = Instant::now();
    let job = loop {
        let job = knowledge.get_ingestion_job(&kb, &ds, &id).unwrap();
        if job.status.is_final() {
            break job;
        }
        assert!(
            stopped.elapsed().as_secs() < 5,
            "the stop did not end the wait"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(job.status, IngestionJobStatus::Stopped, "{job:?}");
    assert_eq!(job.statistics.number_of_documents_deleted, 0);
    assert_eq!(documents(&knowledge, &kb, &ds, "INDEXED").len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sitemaps_named_by_robots_txt_gzipped_or_not_add_pages_no_link_reaches() {
    let site = Site::default();
    let origin = site.serve().await;
    site.put(
        "/robots.txt",
        "text/plain",
        format!("User-agent: *\nAllow: /\nSitemap: {origin}/sitemap.xml\n"),
    );
    site.put(
        "/sitemap.xml",
        "application/xml",
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
            <sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
              <sitemap><loc>{origin}/maps/pages.xml.gz</loc></sitemap>
            </sitemapindex>"#
        ),
    );
    // Gzipped, as the sitemaps protocol allows.
    let urlset = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
        <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
          <url><loc>{origin}/docs/orphan.html</loc><lastmod>2026-11-30</lastmod></url>
          <url><loc>{origin}/elsewhere/out.html</loc></url>
        </urlset>"#
    );
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gzip, urlset.as_bytes()).unwrap();
    site.put(
        "/maps/pages.xml.gz",
        "application/gzip",
        gzip.finish().unwrap(),
    );
    site.html("/docs/", "<p>The handbook's front page links nowhere.</p>");
    site.html(
        "/docs/orphan.html",
        "<p>Expense reports are due on the fifth working day of each month.</p>",
    );
    site.html("/elsewhere/out.html", "<p>Outside the seed's path.</p>");
    let fixture = Fixture::new();
    let knowledge = crawler(&fixture);
    let kb = create_kb(&knowledge);
    let ds = web_ds(
        &knowledge,
        &kb,
        json!({
            "sourceConfiguration": {"urlConfiguration": {"seedUrls": [{"url": format!("{origin}/docs/")}]}},
            "crawlerConfiguration": {"crawlerLimits": {"rateLimit": 300}}
        }),
    );
    let job = finish(&knowledge, &kb, &ds).await;
    assert_eq!(job.status, IngestionJobStatus::Complete, "{job:?}");
    let indexed: BTreeSet<String> = ["/docs/", "/docs/orphan.html"]
        .into_iter()
        .map(|p| format!("{origin}{p}"))
        .collect();
    assert_eq!(documents(&knowledge, &kb, &ds, "INDEXED"), indexed);
    // Sitemaps are read, not indexed or counted as pages; the out-of-scope URL is not asked for.
    assert_eq!(job.statistics.number_of_documents_scanned, 2);
    let paths = site.paths();
    assert!(paths.contains("/maps/pages.xml.gz"), "{paths:?}");
    assert!(!paths.contains("/elsewhere/out.html"), "{paths:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawls_keep_to_public_addresses_unless_the_operator_allows_more() {
    let site = Site::default();
    let origin = site.serve().await;
    handbook(&site, &origin);
    let port = origin.rsplit(':').next().unwrap().to_owned();
    let fixture = Fixture::new();
    let knowledge = fixture.open();
    let kb = create_kb(&knowledge);
    // An address literal, a name that resolves to loopback, and link-local metadata.
    let seeds = |urls: &[String]| {
        let seeds: Vec<Value> = urls.iter().map(|u| json!({"url": u})).collect();
        json!({
            "sourceConfiguration": {"urlConfiguration": {"seedUrls": seeds}},
            "crawlerConfiguration": {"scope": "HOST_ONLY"}
        })
    };
    let literal = create_ds(
        &knowledge,
        &kb,
        json!({"name": "literal", "dataSourceConfiguration": {"type": "WEB", "webConfiguration":
            seeds(&[format!("{origin}/docs/"), "http://169.254.169.254/latest/meta-data/".into()])}}),
    );
    let job = finish(&knowledge, &kb, &literal).await;
    assert_eq!(job.statistics.number_of_new_documents_indexed, 0, "{job:?}");
    assert_eq!(job.statistics.number_of_documents_failed, 2, "{job:?}");
    for address in ["127.0.0.1", "169.254.169.254"] {
        assert!(
            job.failure_reasons
                .iter()
                .any(|r| r.contains(address) && r.contains("not a public address")),
            "{:?}",
            job.failure_reasons
        );
    }
    let named = create_ds(
        &knowledge,
        &kb,
        json!({"name": "named", "dataSourceConfiguration": {"type": "WEB", "webConfiguration":
            seeds(&[format!("http://localhost:{port}/docs/")])}}),
    );
    let job = finish(&knowledge, &kb, &named).await;
    assert_eq!(job.statistics.number_of_new_documents_indexed, 0, "{job:?}");
    assert!(
        job.failure_reasons
            .iter()
            .any(|r| r.contains("localhost resolves only to addresses that are not public")),
        "{:?}",
        job.failure_reasons
    );
    assert!(
        site.hits().is_empty(),
        "the site was never asked: {:?}",
        site.paths()
    );

    // The operator's switch lets the same data source crawl.
    knowledge.set_crawl_private_networks(true);
    let job = finish(&knowledge, &kb, &named).await;
    assert!(
        job.statistics.number_of_new_documents_indexed >= 6,
        "{job:?}"
    );
    let indexed = documents(&knowledge, &kb, &named, "INDEXED");
    assert!(
        indexed.contains(&format!("http://localhost:{port}/docs/a.html")),
        "{indexed:?}"
    );
}
