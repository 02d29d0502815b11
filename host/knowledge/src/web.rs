//! The crawler behind WEB data sources: breadth first from the seed URLs, within the scope
//! the data source names, through its inclusion and exclusion filters, obeying each site's
//! robots.txt and the per-host rate limit, up to the page limit.
//!
//! The crawler only fetches; what it yields is indexed by the ingestion job like any other
//! document, so parsing, chunking and the content hash are the same as for S3.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mantle_documents::Format;
use regex::Regex;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Client, StatusCode, header, redirect};
use scraper::{Html, Selector};
use texting_robots::Robot;
use tokio::time::Instant;
use url::Url;

use crate::config::{MAX_WEB_PAGES, WebDataSourceConfiguration, WebScope};

/// The token a site's robots.txt names this crawler by. It is Bedrock's, so the rules a site
/// wrote for Bedrock's crawler hold for this one too.
pub(crate) const ROBOTS_AGENT: &str = "bedrockbot";

/// Pages per minute from one host when the data source sets no `rateLimit` (Bedrock's most).
const DEFAULT_RATE_LIMIT: u32 = 300;
/// Bedrock's limit on one document's size.
const MAX_PAGE_BYTES: usize = 50 * 1024 * 1024;
/// What is read of a robots.txt (RFC 9309 asks crawlers to read at least 500 KiB).
const MAX_ROBOTS_BYTES: usize = 512 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_REDIRECTS: usize = 10;
/// A `Crawl-delay` above this is held to it, so one site cannot stall a job for hours.
const MAX_CRAWL_DELAY: Duration = Duration::from_secs(60);
/// How often a wait for a host's turn looks at the job's stop flag.
const STOP_POLL: Duration = Duration::from_millis(200);

/// Whether `ip` is an address of the public internet: not loopback, private (RFC 1918, unique
/// local), link-local (where cloud metadata services answer), shared (CGNAT), documentation,
/// benchmarking, multicast, broadcast or reserved.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let segments = v6.segments();
            // NAT64 (64:ff9b::/96) reaches the IPv4 address in its low 32 bits.
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [.., hi, lo] = segments;
                return is_public_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                || segments[..2] == [0x2001, 0xdb8])
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

/// Why a crawl may not fetch `url` when it keeps to public addresses: its host is an address
/// literal that is not public. (Names are checked as they resolve, by [`PublicResolver`].)
fn literal_private_address(url: &Url) -> Option<String> {
    let ip = match url.host()? {
        url::Host::Ipv4(v4) => IpAddr::V4(v4),
        url::Host::Ipv6(v6) => IpAddr::V6(v6),
        url::Host::Domain(_) => return None,
    };
    (!is_public(ip)).then(|| {
        format!("{ip} is not a public address; this server's crawls keep to public addresses")
    })
}

/// Resolves names for a crawl that keeps to public addresses: addresses that are not public
/// are dropped, so neither a link, a redirect nor a DNS answer that changes between lookups
/// can point the crawl at the server's own network. The connection goes to what this returns.
#[derive(Debug)]
struct PublicResolver;

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            // The port is replaced by the URL's own when connecting.
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> =
                all.iter().copied().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() && !all.is_empty() {
                return Err(format!(
                    "{host} resolves only to addresses that are not public ({}); this server's crawls keep to public addresses",
                    all[0].ip()
                )
                .into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// An error with its causes, which is where reqwest keeps the reason (`error sending request`
/// alone says nothing).
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let shown = cause.to_string();
        if !text.contains(&shown) {
            text.push_str(": ");
            text.push_str(&shown);
        }
        source = cause.source();
    }
    text
}

/// Checks a seed URL: absolute http(s), with a host, without credentials.
pub(crate) fn seed_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https URL".into());
    }
    if url.host_str().is_none() {
        return Err("must name a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not hold credentials".into());
    }
    Ok(url)
}

/// What the crawl yields, one page at a time.
#[derive(Debug)]
pub(crate) enum Page {
    /// A page to index, under the URL it was finally served from.
    Document {
        url: String,
        content_type: String,
        bytes: Vec<u8>,
    },
    /// A page that could not be read. `gone` when the site says it no longer exists (404,
    /// 410), so an earlier copy leaves the index; after a timeout or a server error the
    /// earlier copy stays.
    Failed {
        url: String,
        reason: String,
        gone: bool,
    },
}

/// The part of the web one seed opens.
#[derive(Debug, Clone)]
struct Scope {
    host: String,
    /// The registrable domain (`example.co.uk` for `docs.example.co.uk`), or the host itself
    /// for an IP address or a name without a public suffix.
    domain: String,
    /// The seed's path up to its last `/`.
    path: String,
}

/// Which URLs may be crawled: the data source's scope and filters, and nothing about a
/// site's robots.txt. Shared with the redirect policy, which must not follow a redirect out
/// of it.
#[derive(Debug, Clone)]
struct Rules {
    scopes: Vec<Scope>,
    scope: Option<WebScope>,
    include: Vec<Regex>,
    exclude: Vec<Regex>,
}

impl Rules {
    fn new(config: &WebDataSourceConfiguration) -> Result<Self, String> {
        let crawler = config.crawler_configuration.clone().unwrap_or_default();
        let compile = |filters: &Option<Vec<String>>| -> Result<Vec<Regex>, String> {
            filters
                .iter()
                .flatten()
                .map(|f| Regex::new(f).map_err(|e| format!("filter {f:?}: {e}")))
                .collect()
        };
        let scopes = config
            .source_configuration
            .url_configuration
            .seed_urls
            .iter()
            .map(|seed| {
                let url = seed_url(&seed.url)?;
                let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
                let domain = match url.host() {
                    Some(url::Host::Domain(name)) => {
                        psl::domain_str(name).map_or_else(|| host.clone(), str::to_ascii_lowercase)
                    }
                    _ => host.clone(),
                };
                let path = url.path();
                let path = path[..path.rfind('/').map_or(0, |i| i + 1)].to_owned();
                Ok(Scope { host, domain, path })
            })
            .collect::<Result<_, String>>()?;
        Ok(Self {
            scopes,
            scope: crawler.scope,
            include: compile(&crawler.inclusion_filters)?,
            exclude: compile(&crawler.exclusion_filters)?,
        })
    }

    fn in_scope(&self, url: &Url) -> bool {
        let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
            return false;
        };
        matches!(url.scheme(), "http" | "https")
            && self.scopes.iter().any(|s| match self.scope {
                Some(WebScope::HostOnly) => host == s.host,
                Some(WebScope::Subdomains) => {
                    host == s.domain
                        || host
                            .strip_suffix(s.domain.as_str())
                            .is_some_and(|sub| sub.ends_with('.'))
                }
                None => host == s.host && url.path().starts_with(&s.path),
            })
    }

    fn excluded(&self, url: &Url) -> bool {
        self.exclude.iter().any(|f| f.is_match(url.as_str()))
    }

    fn included(&self, url: &Url) -> bool {
        self.include.is_empty() || self.include.iter().any(|f| f.is_match(url.as_str()))
    }

    /// Whether a URL found on a page is worth fetching.
    fn follows(&self, url: &Url) -> bool {
        self.in_scope(url) && !self.excluded(url) && self.included(url)
    }
}

/// A site's robots.txt as this crawler reads it.
#[derive(Debug)]
enum Robots {
    Rules(Box<Robot>),
    /// No usable file (404 and other client errors): everything is allowed.
    AllowAll,
    /// The file could not be read (a server error or no answer): per RFC 9309 nothing is.
    Unreachable(String),
}

/// One crawl of a WEB data source.
#[derive(Debug)]
pub(crate) struct Crawler {
    client: Client,
    rules: Rules,
    frontier: VecDeque<(Url, Visit)>,
    /// Every URL ever queued or fetched, so none is fetched twice.
    known: HashSet<String>,
    /// Each origin's robots.txt, read on the crawl's first visit.
    robots: HashMap<String, Robots>,
    /// Each origin's `Crawl-delay`, where its robots.txt sets one.
    delays: HashMap<String, Duration>,
    /// When each origin may next be asked for a page.
    next_fetch: HashMap<String, Instant>,
    interval: Duration,
    fetched: u32,
    max_pages: u32,
    /// Whether the crawl may reach addresses that are not public.
    private_networks: bool,
}

impl Crawler {
    /// A crawl of `config`'s scope. Unless `private_networks`, it keeps to public addresses
    /// (see [`is_public`]): a data source must not become a way to read the server's own
    /// network.
    pub(crate) fn new(
        config: &WebDataSourceConfiguration,
        private_networks: bool,
    ) -> Result<Self, String> {
        let rules = Rules::new(config)?;
        let crawler = config.crawler_configuration.clone().unwrap_or_default();
        let limits = crawler.crawler_limits.unwrap_or_default();
        let rate = limits.rate_limit.unwrap_or(DEFAULT_RATE_LIMIT).max(1);
        let user_agent = crawler.user_agent_header.clone().unwrap_or_else(|| {
            let own = format!(
                "{ROBOTS_AGENT} (compatible; Mantle/{})",
                env!("CARGO_PKG_VERSION")
            );
            match &crawler.user_agent {
                Some(suffix) => format!("{own} {suffix}"),
                None => own,
            }
        });
        let policy_rules = rules.clone();
        let mut client = Client::builder();
        if !private_networks {
            client = client.dns_resolver(Arc::new(PublicResolver));
        }
        let client = client
            .user_agent(user_agent)
            .timeout(FETCH_TIMEOUT)
            .redirect(redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    attempt.error("too many redirects")
                } else if !private_networks
                    && let Some(reason) = literal_private_address(attempt.url())
                {
                    attempt.error(reason)
                } else if policy_rules.in_scope(attempt.url())
                    && !policy_rules.excluded(attempt.url())
                {
                    attempt.follow()
                } else {
                    // Answers the redirect itself, which the crawl then skips.
                    attempt.stop()
                }
            }))
            .build()
            .map_err(|e| format!("the crawler's HTTP client: {e}"))?;
        let mut crawler = Self {
            client,
            rules,
            frontier: VecDeque::new(),
            known: HashSet::new(),
            robots: HashMap::new(),
            delays: HashMap::new(),
            next_fetch: HashMap::new(),
            interval: Duration::from_secs(60) / rate,
            fetched: 0,
            max_pages: limits.max_pages.unwrap_or(MAX_WEB_PAGES).min(MAX_WEB_PAGES),
            private_networks,
        };
        for seed in &config.source_configuration.url_configuration.seed_urls {
            let mut url = seed_url(&seed.url)?;
            url.set_fragment(None);
            if crawler.known.insert(url.to_string()) {
                crawler.frontier.push_back((url, Visit::Seed));
            }
        }
        Ok(crawler)
    }

    /// How many pages the crawl has fetched.
    pub(crate) fn fetched(&self) -> u32 {
        self.fetched
    }

    /// The next page to index, or `None` when the crawl is done: nothing left in scope, the
    /// page limit reached, or `stop` set (checked while waiting for a host's turn too).
    pub(crate) async fn next(&mut self, stop: &AtomicBool) -> Option<Page> {
        while self.fetched < self.max_pages {
            let (url, visit) = self.frontier.pop_front()?;
            let wanted = match visit {
                Visit::Link => self.rules.follows(&url),
                Visit::Seed | Visit::Sitemap => !self.rules.excluded(&url),
            };
            if !wanted {
                continue;
            }
            // Before robots.txt, which is a request too.
            if !self.private_networks
                && let Some(reason) = literal_private_address(&url)
            {
                return Some(Page::Failed {
                    url: url.to_string(),
                    reason,
                    gone: false,
                });
            }
            match self.robots_allow(&url).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(reason) => {
                    return Some(Page::Failed {
                        url: url.to_string(),
                        reason,
                        gone: false,
                    });
                }
            }
            if !self.wait_turn(&url, stop).await {
                return None;
            }
            if visit != Visit::Sitemap {
                self.fetched += 1;
            }
            if let Some(page) = self.fetch(url, visit).await {
                return Some(page);
            }
        }
        None
    }

    /// Whether the site's robots.txt lets this crawler fetch `url`; an error when the file
    /// could not be read, which keeps the crawler off the whole site.
    async fn robots_allow(&mut self, url: &Url) -> Result<bool, String> {
        let origin = url.origin().ascii_serialization();
        if !self.robots.contains_key(&origin) {
            let robots = self.read_robots(&origin).await;
            if let Robots::Rules(robot) = &robots
                && let Some(delay) = robot.delay
                && delay.is_finite()
                && delay > 0.0
            {
                let delay = Duration::from_secs_f32(delay).min(MAX_CRAWL_DELAY);
                tracing::debug!(%origin, ?delay, "robots.txt asks for a crawl delay");
                self.delays.insert(origin.clone(), delay);
            }
            // The site's sitemaps list pages its links may not reach.
            if let Robots::Rules(robot) = &robots {
                for sitemap in &robot.sitemaps {
                    if let Ok(sitemap) = Url::parse(sitemap) {
                        self.queue_sitemap(sitemap);
                    }
                }
            }
            self.robots.insert(origin.clone(), robots);
        }
        match &self.robots[&origin] {
            Robots::Rules(robot) => Ok(robot.allowed(url.as_str())),
            Robots::AllowAll => Ok(true),
            Robots::Unreachable(reason) => Err(reason.clone()),
        }
    }

    async fn read_robots(&self, origin: &str) -> Robots {
        let url = format!("{origin}/robots.txt");
        let response = match self.client.get(&url).send().await {
            Ok(response) => response,
            Err(e) => {
                return Robots::Unreachable(format!("{url} could not be read: {}", causes(&e)));
            }
        };
        let status = response.status();
        if status.is_server_error() {
            return Robots::Unreachable(format!("{url} answered {status}"));
        }
        if !status.is_success() {
            return Robots::AllowAll;
        }
        match read_body(response, MAX_ROBOTS_BYTES, true).await {
            Ok(body) => match Robot::new(ROBOTS_AGENT, &body) {
                Ok(robot) => Robots::Rules(Box::new(robot)),
                // An unparseable file says nothing a crawler can obey.
                Err(_) => Robots::AllowAll,
            },
            Err(e) => Robots::Unreachable(format!("{url} could not be read: {e}")),
        }
    }

    /// Sleeps until the URL's host may be asked again: the rate limit, or the site's
    /// `Crawl-delay` when that is longer. False when `stop` was set meanwhile.
    async fn wait_turn(&mut self, url: &Url, stop: &AtomicBool) -> bool {
        let origin = url.origin().ascii_serialization();
        let interval = self
            .delays
            .get(&origin)
            .map_or(self.interval, |delay| (*delay).max(self.interval));
        let now = Instant::now();
        let at = self
            .next_fetch
            .get(&origin)
            .copied()
            .unwrap_or(now)
            .max(now);
        self.next_fetch.insert(origin, at + interval);
        while Instant::now() < at {
            if stop.load(Ordering::Relaxed) {
                return false;
            }
            tokio::time::sleep_until(at.min(Instant::now() + STOP_POLL)).await;
        }
        !stop.load(Ordering::Relaxed)
    }

    /// Fetches one URL; `None` when there is nothing to index from it (a redirect out of
    /// scope, a type no parser reads, a page marked `noindex`, a page already seen under the
    /// URL it redirected to).
    async fn fetch(&mut self, url: Url, visit: Visit) -> Option<Page> {
        let failed = |reason: String, gone: bool| Page::Failed {
            url: url.to_string(),
            reason,
            gone,
        };
        let response = match self.client.get(url.clone()).send().await {
            Ok(response) => response,
            Err(e) => {
                return Some(failed(
                    format!("could not be fetched: {}", causes(&e)),
                    false,
                ));
            }
        };
        let status = response.status();
        if status.is_redirection() {
            tracing::debug!(%url, "redirect out of the crawl's scope not followed");
            return None;
        }
        if !status.is_success() {
            let gone = matches!(status, StatusCode::NOT_FOUND | StatusCode::GONE);
            return Some(failed(format!("the server answered {status}"), gone));
        }
        let mut final_url = response.url().clone();
        final_url.set_fragment(None);
        if final_url != url && !self.known.insert(final_url.to_string()) {
            return None;
        }
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(Format::from_mime)
            .or_else(|| Format::from_extension(final_url.path()));
        let Some(format) = content_type else {
            if is_xml(&response, &final_url) {
                let xml = read_body(response, MAX_PAGE_BYTES, false)
                    .await
                    .and_then(|bytes| gunzip_sitemap(bytes, MAX_PAGE_BYTES));
                match xml {
                    Ok(xml) => self.read_sitemap(&final_url, &xml),
                    Err(reason) => return Some(failed(reason, false)),
                }
            } else {
                tracing::debug!(%final_url, "not a type this server parses");
            }
            return None;
        };
        if visit == Visit::Sitemap {
            tracing::debug!(%final_url, "a sitemap that is not XML");
            return None;
        }
        let tag = Directives::of_header(response.headers());
        let bytes = match read_body(response, MAX_PAGE_BYTES, false).await {
            Ok(bytes) => bytes,
            Err(reason) => return Some(failed(reason, false)),
        };
        let mut directives = tag;
        if format == Format::Html {
            let (links, meta) = links(&final_url, &bytes);
            directives = directives.and(meta);
            if !directives.nofollow {
                for link in links {
                    if self.rules.follows(&link) && self.known.insert(link.to_string()) {
                        self.frontier.push_back((link, Visit::Link));
                    }
                }
            }
        }
        if directives.noindex || (visit == Visit::Seed && !self.rules.included(&final_url)) {
            return None;
        }
        Some(Page::Document {
            url: final_url.to_string(),
            content_type: format.mime().to_owned(),
            bytes,
        })
    }
}

impl Crawler {
    /// Queues a sitemap on one of the seeds' hosts (a sitemap elsewhere could widen the
    /// crawl to pages no seed opens; its pages must pass the scope anyway).
    fn queue_sitemap(&mut self, mut url: Url) {
        url.set_fragment(None);
        let host = url.host_str().map(str::to_ascii_lowercase);
        let on_a_seed_host = self
            .rules
            .scopes
            .iter()
            .any(|s| host.as_deref() == Some(s.host.as_str()));
        if on_a_seed_host && self.known.insert(url.to_string()) {
            self.frontier.push_back((url, Visit::Sitemap));
        }
    }

    /// Queues the pages of a sitemaps.org `<urlset>` that pass the crawl's rules, and the
    /// sitemaps of a `<sitemapindex>`.
    fn read_sitemap(&mut self, url: &Url, xml: &[u8]) {
        let Ok(text) = std::str::from_utf8(xml) else {
            return;
        };
        let Ok(doc) = roxmltree::Document::parse(text) else {
            tracing::debug!(%url, "an XML page that does not parse");
            return;
        };
        let root = doc.root_element();
        let index = match root.tag_name().name() {
            "urlset" => false,
            "sitemapindex" => true,
            _ => return,
        };
        let locations: Vec<Url> = root
            .children()
            .filter(|n| n.is_element())
            .flat_map(|entry| entry.children().filter(|n| n.tag_name().name() == "loc"))
            .filter_map(|loc| loc.text())
            .filter_map(|loc| url.join(loc.trim()).ok())
            .collect();
        for mut location in locations {
            if index {
                self.queue_sitemap(location);
                continue;
            }
            location.set_fragment(None);
            if self.rules.follows(&location) && self.known.insert(location.to_string()) {
                self.frontier.push_back((location, Visit::Link));
            }
        }
    }
}

/// Why a URL is in the frontier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visit {
    /// A seed: read for its links even when the inclusion filters would not index it.
    Seed,
    /// Found on a page or in a sitemap: fetched only when it passes the rules.
    Link,
    /// A sitemap (from robots.txt or a sitemap index): read for its URLs, never indexed, and
    /// not counted against `maxPages`.
    Sitemap,
}

/// Whether a response may be a sitemap: XML, or gzipped (`sitemap.xml.gz`, as the sitemaps
/// protocol allows).
fn is_xml(response: &reqwest::Response, url: &Url) -> bool {
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let path = url.path();
    content_type.contains("xml")
        || content_type.contains("gzip")
        || path.ends_with(".xml")
        || path.ends_with(".xml.gz")
}

/// A sitemap's XML: `bytes` themselves, or inflated when they are gzip (at most `limit`
/// bytes inflated, so a small bomb cannot fill the memory).
fn gunzip_sitemap(bytes: Vec<u8>, limit: usize) -> Result<Vec<u8>, String> {
    use std::io::Read;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let mut xml = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .take(limit as u64 + 1)
        .read_to_end(&mut xml)
        .map_err(|e| format!("is not a readable gzipped sitemap: {e}"))?;
    if xml.len() > limit {
        return Err(format!(
            "inflates beyond {limit} bytes, more than a sitemap may hold"
        ));
    }
    Ok(xml)
}

/// A response's body, at most `limit` bytes: beyond it an error, or the first `limit` bytes
/// when `truncate`.
async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
    truncate: bool,
) -> Result<Vec<u8>, String> {
    let too_big = || format!("is larger than {} MiB", limit / (1024 * 1024));
    if !truncate && response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("could not be read: {e}"))?
    {
        if body.len() + chunk.len() > limit {
            if truncate {
                body.extend_from_slice(&chunk[..limit - body.len()]);
                break;
            }
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// What a page says crawlers may do with it (`<meta name="robots">`, `X-Robots-Tag`).
#[derive(Debug, Clone, Copy, Default)]
struct Directives {
    noindex: bool,
    nofollow: bool,
}

impl Directives {
    fn parse(value: &str) -> Self {
        let mut directives = Self::default();
        for word in value.split(',').map(|w| w.trim().to_ascii_lowercase()) {
            match word.as_str() {
                "noindex" => directives.noindex = true,
                "nofollow" => directives.nofollow = true,
                "none" => {
                    directives = Self {
                        noindex: true,
                        nofollow: true,
                    }
                }
                _ => {}
            }
        }
        directives
    }

    /// `X-Robots-Tag` headers: `noindex, nofollow` for every crawler, or `agent: noindex`
    /// for one (only this crawler's count).
    fn of_header(headers: &header::HeaderMap) -> Self {
        // Directives whose own syntax has a colon, so they are not mistaken for an agent.
        const VALUED: [&str; 4] = [
            "unavailable_after",
            "max-snippet",
            "max-image-preview",
            "max-video-preview",
        ];
        headers
            .get_all("x-robots-tag")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| match v.split_once(':') {
                Some((agent, rules))
                    if !agent.contains(',')
                        && !VALUED.contains(&agent.trim().to_ascii_lowercase().as_str()) =>
                {
                    agent
                        .trim()
                        .eq_ignore_ascii_case(ROBOTS_AGENT)
                        .then(|| Self::parse(rules))
                }
                _ => Some(Self::parse(v)),
            })
            .fold(Self::default(), Self::and)
    }

    fn and(self, other: Self) -> Self {
        Self {
            noindex: self.noindex || other.noindex,
            nofollow: self.nofollow || other.nofollow,
        }
    }
}

/// The links of an HTML page, absolute and without fragments (`rel="nofollow"` ones left
/// out), and what its robots `<meta>` tags say.
fn links(page: &Url, html: &[u8]) -> (Vec<Url>, Directives) {
    let html = Html::parse_document(&String::from_utf8_lossy(html));
    let selector = |s: &str| Selector::parse(s).expect("a valid selector");
    let base = html
        .select(&selector("base[href]"))
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|href| page.join(href).ok())
        .unwrap_or_else(|| page.clone());
    let directives = html
        .select(&selector("meta[name][content]"))
        .filter(|m| {
            let name = m.value().attr("name").unwrap_or_default();
            name.eq_ignore_ascii_case("robots") || name.eq_ignore_ascii_case(ROBOTS_AGENT)
        })
        .map(|m| Directives::parse(m.value().attr("content").unwrap_or_default()))
        .fold(Directives::default(), Directives::and);
    let links = html
        .select(&selector("a[href], area[href]"))
        .filter(|a| {
            !a.value().attr("rel").is_some_and(|rel| {
                rel.split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("nofollow"))
            })
        })
        .filter_map(|a| base.join(a.value().attr("href")?.trim()).ok())
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .map(|mut url| {
            url.set_fragment(None);
            url
        })
        .collect();
    (links, directives)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzipped_sitemaps_inflate_within_their_limit() {
        use std::io::Write;
        let gzip = |bytes: &[u8]| {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(bytes).unwrap();
            encoder.finish().unwrap()
        };
        let xml = b"<urlset></urlset>".to_vec();
        assert_eq!(gunzip_sitemap(xml.clone(), 1024).unwrap(), xml);
        assert_eq!(gunzip_sitemap(gzip(&xml), 1024).unwrap(), xml);
        // 1 MiB of zeros gzips to about a kilobyte: a bomb for a 64 KiB limit.
        let bomb = gzip(&vec![0; 1 << 20]);
        assert!(bomb.len() < 4096);
        assert!(
            gunzip_sitemap(bomb, 64 * 1024)
                .unwrap_err()
                .contains("inflates beyond")
        );
        let mut torn = gzip(&xml);
        torn.truncate(torn.len() / 2);
        assert!(gunzip_sitemap(torn, 1024).unwrap_err().contains("gzipped"));
    }
    use crate::config::WebDataSourceConfiguration;

    fn rules(seed: &str, extra: serde_json::Value) -> Rules {
        let mut config = serde_json::json!({
            "sourceConfiguration": {"urlConfiguration": {"seedUrls": [{"url": seed}]}}
        });
        config["crawlerConfiguration"] = extra;
        let config: WebDataSourceConfiguration = serde_json::from_value(config).unwrap();
        Rules::new(&config).unwrap()
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn scopes_keep_to_the_path_the_host_or_the_registrable_domain() {
        let path = rules(
            "https://docs.example.co.uk/guide/start.html",
            serde_json::json!({}),
        );
        assert!(path.in_scope(&url("https://docs.example.co.uk/guide/next.html")));
        assert!(path.in_scope(&url("http://DOCS.example.co.uk/guide/deep/page")));
        assert!(!path.in_scope(&url("https://docs.example.co.uk/blog/")));

        let host = rules(
            "https://docs.example.co.uk/guide/",
            serde_json::json!({"scope": "HOST_ONLY"}),
        );
        assert!(host.in_scope(&url("https://docs.example.co.uk/blog/")));
        assert!(!host.in_scope(&url("https://www.example.co.uk/")));

        let domain = rules(
            "https://docs.example.co.uk/guide/",
            serde_json::json!({"scope": "SUBDOMAINS"}),
        );
        assert!(domain.in_scope(&url("https://www.example.co.uk/")));
        assert!(domain.in_scope(&url("https://example.co.uk/")));
        // A suffix match is not a subdomain, and a public suffix is not a domain.
        assert!(!domain.in_scope(&url("https://badexample.co.uk/")));
        assert!(!domain.in_scope(&url("https://other.co.uk/")));
        assert!(!domain.in_scope(&url("ftp://docs.example.co.uk/guide/")));
    }

    #[test]
    fn exclusion_beats_inclusion() {
        let rules = rules(
            "https://example.com/",
            serde_json::json!({"inclusionFilters": [r"\.html$"], "exclusionFilters": ["/private/"]}),
        );
        assert!(rules.follows(&url("https://example.com/a.html")));
        assert!(!rules.follows(&url("https://example.com/a.pdf")));
        assert!(!rules.follows(&url("https://example.com/private/a.html")));
    }

    #[test]
    fn links_resolve_against_the_base_and_skip_nofollow() {
        let page = url("https://example.com/docs/index.html");
        let html =
            br#"<html><head><base href="/root/"><meta name="ROBOTS" content="noindex"></head>
            <body><a href="a.html#top">a</a> <a rel="external nofollow" href="b.html">b</a>
            <a href="mailto:x@example.com">mail</a> <area href="https://other.org/c">
            </body></html>"#;
        let (links, directives) = links(&page, html);
        let links: Vec<String> = links.into_iter().map(String::from).collect();
        assert_eq!(
            links,
            ["https://example.com/root/a.html", "https://other.org/c"]
        );
        assert!(directives.noindex && !directives.nofollow);
    }

    #[test]
    fn robots_tags_for_other_crawlers_are_ignored() {
        let mut headers = header::HeaderMap::new();
        headers.append("x-robots-tag", "otherbot: noindex".parse().unwrap());
        headers.append(
            "x-robots-tag",
            "unavailable_after: 2030-01-01".parse().unwrap(),
        );
        let directives = Directives::of_header(&headers);
        assert!(!directives.noindex && !directives.nofollow);
        headers.append("x-robots-tag", "BedrockBot: nofollow".parse().unwrap());
        headers.append("x-robots-tag", "none".parse().unwrap());
        let directives = Directives::of_header(&headers);
        assert!(directives.noindex && directives.nofollow);
    }

    #[test]
    fn seed_urls_are_absolute_http_without_credentials() {
        assert!(seed_url("https://example.com/docs/").is_ok());
        for bad in [
            "example.com",
            "ftp://example.com/",
            "https://user:pw@example.com/",
        ] {
            assert!(seed_url(bad).is_err(), "{bad}");
        }
    }
}
