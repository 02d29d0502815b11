//! Ingestion jobs: a scan of a data source that indexes new and changed documents and removes
//! deleted ones, one document at a time, recorded as it goes (so a job's statistics are true
//! at every moment, and a crash leaves only whole documents behind).

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::config::DataSourceType;
use crate::documents::Indexed;
use crate::ingest::{SourceDocument, content_type_of, sidecar_metadata};
use crate::input::{
    DocumentIdentifier, DocumentSourceType, IngestionJobSortAttribute, ListIngestionJobsInput,
    S3Location, SortOrder, StartIngestionJobInput,
};
use crate::output::{
    IngestionJob, IngestionJobPage, IngestionJobStatistics, IngestionJobStatus, IngestionJobSummary,
};
use crate::record::{DataSourceRecord, IngestionJobRecord, KnowledgeBaseRecord, document_key};
use crate::retrieve::Location;
use crate::service::{Knowledge, check_client_token, now, page};
use crate::web::{Crawler, Page};
use crate::{DataSourceId, IngestionJobId, KnowledgeBaseId, KnowledgeError};

/// The most per-document reasons a job keeps; the statistics count the rest.
const MAX_FAILURE_REASONS: usize = 50;

/// How often a running job makes its keyword writes searchable.
const KEYWORD_COMMIT_INTERVAL: Duration = Duration::from_secs(2);

impl Knowledge {
    /// StartIngestionJob: records the job as STARTING and runs it on the async runtime (call
    /// it from within one). One job runs per data source at a time.
    pub fn start_ingestion_job(
        &self,
        kb: &KnowledgeBaseId,
        ds: &DataSourceId,
        input: StartIngestionJobInput,
    ) -> Result<IngestionJob, KnowledgeError> {
        let inner = &self.inner;
        self.find_data_source(kb, ds)?;
        let token_key = match &input.client_token {
            Some(token) => {
                check_client_token(token)?;
                Some(format!("StartIngestionJob/{kb}/{ds}/{token}"))
            }
            None => None,
        };
        if let Some(key) = &token_key
            && let Some(done) = inner.tokens.get(key)?
            && let Some(record) = inner.jobs.get(&done.key)?
        {
            return Ok(job(&record));
        }
        if let Some(description) = &input.description
            && (description.is_empty() || description.chars().count() > 200)
        {
            return Err(KnowledgeError::invalid(
                "description",
                "Member must have length between 1 and 200",
            ));
        }
        let prefix = format!("{kb}/{ds}/");
        if let Some((_, running)) = inner
            .jobs
            .scan_prefix(&prefix)?
            .into_iter()
            .find(|(_, j)| !j.status.is_final())
        {
            return Err(KnowledgeError::Conflict(format!(
                "Ingestion job {} is already {} for data source {ds}.",
                running.id,
                running.status.as_str()
            )));
        }
        let now = now();
        let record = IngestionJobRecord {
            knowledge_base_id: kb.to_string(),
            data_source_id: ds.to_string(),
            id: IngestionJobId::new().to_string(),
            description: input.description,
            status: IngestionJobStatus::Starting,
            statistics: IngestionJobStatistics::default(),
            failure_reasons: Vec::new(),
            started_at: now.clone(),
            updated_at: now,
        };
        let key = format!("{prefix}{}", record.id);
        inner.jobs.put(&key, &record)?;
        if let Some(token) = &token_key {
            inner
                .tokens
                .put(token, &crate::record::ClientToken { key: key.clone() })?;
        }
        inner.store.flush()?;
        let stop = Arc::new(AtomicBool::new(false));
        inner
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone(), stop.clone());
        let this = self.clone();
        tokio::spawn(async move {
            let (status, reason) = match this.run_job(&key, &stop).await {
                Ok(status) => (status, None),
                Err(error) => (IngestionJobStatus::Failed, Some(error.to_string())),
            };
            // Whatever the job indexed is searchable by keyword before its status says so.
            this.inner.index.commit();
            let finished = this.finish_job(&key, status, reason);
            if let Err(error) = finished {
                tracing::error!(job = %key, %error, "could not record the end of an ingestion job");
            }
            this.inner
                .running
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
            // Saved now rather than at the next round of the saver, off the runtime's
            // workers: a restart then loads the job's vectors instead of inserting them again.
            let index = this.clone();
            let saved = tokio::task::spawn_blocking(move || index.inner.index.save_vectors()).await;
            if let Ok(Err(reason)) = saved {
                tracing::warn!(job = %key, %reason, "cannot save the vector graph; the saver retries");
            }
        });
        tracing::info!(job = %record.id, knowledge_base = %kb, data_source = %ds, "ingestion job started");
        Ok(job(&record))
    }

    /// Changes a job's record; `None` when the job is gone (its data source was deleted).
    fn update_job(
        &self,
        key: &str,
        change: impl Fn(&mut IngestionJobRecord),
    ) -> Result<Option<IngestionJobRecord>, KnowledgeError> {
        let updated = self.inner.jobs.update::<KnowledgeError>(key, |job| {
            Ok(job.map(|mut job| {
                change(&mut job);
                job.updated_at = now();
                job
            }))
        })?;
        self.inner.store.flush()?;
        Ok(updated)
    }

    fn finish_job(
        &self,
        key: &str,
        status: IngestionJobStatus,
        reason: Option<String>,
    ) -> Result<(), KnowledgeError> {
        let job = self.update_job(key, |job| {
            job.status = status;
            if let Some(reason) = &reason {
                job.failure_reasons.push(reason.clone());
            }
        })?;
        if let Some(job) = job {
            tracing::info!(job = %job.id, status = job.status.as_str(), statistics = ?job.statistics, "ingestion job ended");
        }
        Ok(())
    }

    /// Scans the data source and indexes what changed. Answers the job's final status;
    /// an error fails the whole job (a document's failure only counts against it).
    async fn run_job(
        &self,
        key: &str,
        stop: &AtomicBool,
    ) -> Result<IngestionJobStatus, KnowledgeError> {
        let Some(job) = self.update_job(key, |job| job.status = IngestionJobStatus::InProgress)?
        else {
            return Ok(IngestionJobStatus::Stopped);
        };
        let kb_id = KnowledgeBaseId::stored(&job.knowledge_base_id);
        let ds_id = DataSourceId::stored(&job.data_source_id);
        let kb = self.find_knowledge_base(&kb_id)?;
        let ds = self.find_data_source(&kb_id, &ds_id)?;
        match ds.configuration.kind {
            // Documents of a CUSTOM data source arrive through IngestKnowledgeBaseDocuments;
            // a job over one has nothing to scan.
            DataSourceType::Custom => Ok(IngestionJobStatus::Complete),
            DataSourceType::S3 => self.sync_s3(key, &kb, &ds, stop).await,
            DataSourceType::Web => self.sync_web(key, &kb, &ds, stop).await,
            other => Err(KnowledgeError::invalid(
                "dataSourceConfiguration.type",
                format!(
                    "{} data sources are not served by this server",
                    other.as_str()
                ),
            )),
        }
    }

    async fn sync_s3(
        &self,
        key: &str,
        kb: &KnowledgeBaseRecord,
        ds: &DataSourceRecord,
        stop: &AtomicBool,
    ) -> Result<IngestionJobStatus, KnowledgeError> {
        let s3 = ds.configuration.s3_configuration.as_ref();
        let Some(bucket) = s3.and_then(|s3| s3.bucket()) else {
            return Err(KnowledgeError::invalid(
                "dataSourceConfiguration.s3Configuration.bucketArn",
                "is not an S3 bucket ARN",
            ));
        };
        let prefix = s3
            .and_then(|s3| s3.inclusion_prefixes.as_ref())
            .and_then(|p| p.first())
            .map_or("", String::as_str);
        let keys = match self.inner.buckets.list(bucket, prefix).await {
            Ok(keys) => keys,
            Err(reason) => {
                self.update_job(key, |job| job.failure_reasons.push(reason.clone()))?;
                return Ok(IngestionJobStatus::Failed);
            }
        };
        let sidecars: HashSet<&str> = keys
            .iter()
            .filter(|k| k.ends_with(".metadata.json"))
            .map(String::as_str)
            .collect();
        let documents: Vec<&String> = keys
            .iter()
            .filter(|k| !sidecars.contains(k.as_str()))
            .collect();
        self.update_job(key, |job| {
            job.statistics.number_of_documents_scanned = documents.len() as u64;
            job.statistics.number_of_metadata_documents_scanned = sidecars.len() as u64;
        })?;
        let mut seen = HashSet::new();
        let mut last_commit = Instant::now();
        for object in documents {
            // Keyword writes become searchable in batches: a commit per document would cost
            // more than the document.
            if last_commit.elapsed() >= KEYWORD_COMMIT_INTERVAL {
                self.inner.index.commit();
                last_commit = Instant::now();
            }
            if stop.load(Ordering::Relaxed) {
                return Ok(IngestionJobStatus::Stopped);
            }
            let uri = format!("s3://{bucket}/{object}");
            let identifier = DocumentIdentifier {
                data_source_type: DocumentSourceType::S3,
                s3: Some(S3Location {
                    uri: uri.clone(),
                    bucket_owner_account_id: None,
                }),
                custom: None,
                web: None,
            };
            seen.insert(document_key(&identifier));
            let outcome = match self.read_object(bucket, object, &sidecars).await {
                Ok((bytes, metadata)) => {
                    let source = SourceDocument {
                        identifier,
                        location: Location::s3(uri.clone()),
                        content_type: content_type_of(object).to_owned(),
                        bytes,
                        metadata,
                    };
                    self.index_source(kb, ds, source).await?
                }
                Err(reason) => Indexed::Failed(reason),
            };
            if !self.count(key, &uri, &outcome, None)? {
                return Ok(IngestionJobStatus::Stopped);
            }
        }
        self.remove_unseen(key, kb, ds, &seen)?;
        Ok(if stop.load(Ordering::Relaxed) {
            IngestionJobStatus::Stopped
        } else {
            IngestionJobStatus::Complete
        })
    }

    /// Crawls a WEB data source and indexes each page it yields. Pages the crawl no longer
    /// reaches leave the index, except those it could not read this time (a timeout or a
    /// server error keeps the copy indexed before).
    async fn sync_web(
        &self,
        key: &str,
        kb: &KnowledgeBaseRecord,
        ds: &DataSourceRecord,
        stop: &AtomicBool,
    ) -> Result<IngestionJobStatus, KnowledgeError> {
        let Some(web) = ds.configuration.web_configuration.as_ref() else {
            return Err(KnowledgeError::invalid(
                "dataSourceConfiguration.webConfiguration",
                "Member must not be null",
            ));
        };
        let private = self.inner.crawl_private_networks.load(Ordering::Relaxed);
        let mut crawler = match Crawler::new(web, private) {
            Ok(crawler) => crawler,
            Err(reason) => {
                self.update_job(key, |job| job.failure_reasons.push(reason.clone()))?;
                return Ok(IngestionJobStatus::Failed);
            }
        };
        let mut seen = HashSet::new();
        let mut last_commit = Instant::now();
        while let Some(page) = crawler.next(stop).await {
            if last_commit.elapsed() >= KEYWORD_COMMIT_INTERVAL {
                self.inner.index.commit();
                last_commit = Instant::now();
            }
            if stop.load(Ordering::Relaxed) {
                return Ok(IngestionJobStatus::Stopped);
            }
            let (url, outcome) = match page {
                Page::Document {
                    url,
                    content_type,
                    bytes,
                } => {
                    let identifier = DocumentIdentifier::web(url.clone());
                    seen.insert(document_key(&identifier));
                    let source = SourceDocument {
                        identifier,
                        location: Location::web(url.clone()),
                        content_type,
                        bytes,
                        metadata: BTreeMap::new(),
                    };
                    (url, self.index_source(kb, ds, source).await?)
                }
                Page::Failed { url, reason, gone } => {
                    if !gone {
                        seen.insert(document_key(&DocumentIdentifier::web(url.clone())));
                    }
                    (url, Indexed::Failed(reason))
                }
            };
            // The crawl finds its pages as it goes, so the scan count grows with the outcomes.
            let scanned = Some(u64::from(crawler.fetched()));
            if !self.count(key, &url, &outcome, scanned)? {
                return Ok(IngestionJobStatus::Stopped);
            }
        }
        // A stopped crawl saw only part of the site: what it did not reach stays indexed.
        if stop.load(Ordering::Relaxed) {
            return Ok(IngestionJobStatus::Stopped);
        }
        self.remove_unseen(key, kb, ds, &seen)?;
        Ok(IngestionJobStatus::Complete)
    }

    /// Adds one document's outcome to the job's statistics (with the documents scanned so far,
    /// when the scan could not count them up front) in one write; false when the job is gone
    /// (its data source was deleted).
    fn count(
        &self,
        key: &str,
        name: &str,
        outcome: &Indexed,
        scanned: Option<u64>,
    ) -> Result<bool, KnowledgeError> {
        let updated = self.update_job(key, |job| {
            let stats = &mut job.statistics;
            if let Some(scanned) = scanned {
                stats.number_of_documents_scanned = scanned;
            }
            match outcome {
                Indexed::New => stats.number_of_new_documents_indexed += 1,
                Indexed::Modified => stats.number_of_modified_documents_indexed += 1,
                Indexed::Unchanged => stats.number_of_documents_skipped += 1,
                Indexed::Failed(reason) => {
                    stats.number_of_documents_failed += 1;
                    if job.failure_reasons.len() < MAX_FAILURE_REASONS {
                        job.failure_reasons.push(format!("{name}: {reason}"));
                    }
                }
            }
        })?;
        Ok(updated.is_some())
    }

    /// Removes from the index the data source's documents this scan did not see.
    fn remove_unseen(
        &self,
        key: &str,
        kb: &KnowledgeBaseRecord,
        ds: &DataSourceRecord,
        seen: &HashSet<String>,
    ) -> Result<(), KnowledgeError> {
        let prefix = format!("{}/{}/", kb.id, ds.id);
        let mut deleted = 0u64;
        for (record_key, _) in self.inner.docs.scan_prefix(&prefix)? {
            let doc_key = &record_key[prefix.len()..];
            if !seen.contains(doc_key) {
                self.inner.docs.delete(&record_key)?;
                self.inner
                    .index
                    .remove(&kb.id, &format!("{}/{doc_key}", ds.id));
                deleted += 1;
            }
        }
        self.update_job(key, |job| {
            job.statistics.number_of_documents_deleted = deleted
        })?;
        Ok(())
    }

    /// An object's bytes and the metadata of its sidecar, if it has one.
    async fn read_object(
        &self,
        bucket: &str,
        object: &str,
        sidecars: &HashSet<&str>,
    ) -> Result<(Vec<u8>, BTreeMap<String, Value>), String> {
        let bytes = self
            .inner
            .buckets
            .read(&format!("s3://{bucket}/{object}"))
            .await?;
        let sidecar = format!("{object}.metadata.json");
        let metadata = if sidecars.contains(sidecar.as_str()) {
            let raw = self
                .inner
                .buckets
                .read(&format!("s3://{bucket}/{sidecar}"))
                .await?;
            sidecar_metadata(&raw).map_err(|e| format!("{sidecar}: {e}"))?
        } else {
            BTreeMap::new()
        };
        Ok((bytes, metadata))
    }

    fn find_job(
        &self,
        kb: &KnowledgeBaseId,
        ds: &DataSourceId,
        id: &IngestionJobId,
    ) -> Result<IngestionJobRecord, KnowledgeError> {
        self.find_data_source(kb, ds)?;
        self.inner
            .jobs
            .get(&format!("{kb}/{ds}/{id}"))?
            .ok_or_else(|| {
                KnowledgeError::NotFound(format!(
                    "Ingestion job {id} does not exist for data source {ds}."
                ))
            })
    }

    /// GetIngestionJob.
    pub fn get_ingestion_job(
        &self,
        kb: &KnowledgeBaseId,
        ds: &DataSourceId,
        id: &IngestionJobId,
    ) -> Result<IngestionJob, KnowledgeError> {
        Ok(job(&self.find_job(kb, ds, id)?))
    }

    /// StopIngestionJob: the job stops after the document it is indexing.
    pub fn stop_ingestion_job(
        &self,
        kb: &KnowledgeBaseId,
        ds: &DataSourceId,
        id: &IngestionJobId,
    ) -> Result<IngestionJob, KnowledgeError> {
        let current = self.find_job(kb, ds, id)?;
        if current.status.is_final() || current.status == IngestionJobStatus::Stopping {
            return Err(KnowledgeError::Conflict(format!(
                "Ingestion job {id} is {} and cannot be stopped.",
                current.status.as_str()
            )));
        }
        let key = format!("{kb}/{ds}/{id}");
        self.stop_jobs(&key);
        let record = self
            .update_job(&key, |job| {
                if !job.status.is_final() {
                    job.status = IngestionJobStatus::Stopping;
                }
            })?
            .ok_or_else(|| {
                KnowledgeError::NotFound(format!("Ingestion job {id} does not exist."))
            })?;
        Ok(job(&record))
    }

    /// ListIngestionJobs, newest first unless `sortBy` says otherwise.
    pub fn list_ingestion_jobs(
        &self,
        kb: &KnowledgeBaseId,
        ds: &DataSourceId,
        input: &ListIngestionJobsInput,
    ) -> Result<IngestionJobPage, KnowledgeError> {
        self.find_data_source(kb, ds)?;
        let mut jobs: Vec<IngestionJobRecord> = self
            .inner
            .jobs
            .scan_prefix(&format!("{kb}/{ds}/"))?
            .into_iter()
            .map(|(_, j)| j)
            .collect();
        if let Some(filters) = &input.filters {
            if filters.len() != 1 {
                return Err(KnowledgeError::invalid(
                    "filters",
                    "Member must have length 1",
                ));
            }
            let values = &filters[0].values;
            if values.len() > 10 {
                return Err(KnowledgeError::invalid(
                    "filters.0.values",
                    "Member must have length less than or equal to 10",
                ));
            }
            jobs.retain(|j| values.iter().any(|v| v == j.status.as_str()));
        }
        let (attribute, order) = input.sort_by.as_ref().map_or(
            (IngestionJobSortAttribute::StartedAt, SortOrder::Descending),
            |s| (s.attribute, s.order),
        );
        jobs.sort_by(|a, b| {
            let ordering = match attribute {
                IngestionJobSortAttribute::StartedAt => a.started_at.cmp(&b.started_at),
                IngestionJobSortAttribute::Status => a.status.as_str().cmp(b.status.as_str()),
            };
            let ordering = ordering.then_with(|| a.id.cmp(&b.id));
            if order == SortOrder::Descending {
                ordering.reverse()
            } else {
                ordering
            }
        });
        let (jobs, next_token) = page(jobs, input.max_results, input.next_token.as_deref())?;
        Ok(IngestionJobPage {
            ingestion_job_summaries: jobs
                .into_iter()
                .map(|j| IngestionJobSummary {
                    knowledge_base_id: KnowledgeBaseId::stored(&j.knowledge_base_id),
                    data_source_id: DataSourceId::stored(&j.data_source_id),
                    ingestion_job_id: IngestionJobId::stored(&j.id),
                    description: j.description,
                    status: j.status,
                    statistics: j.statistics,
                    started_at: j.started_at,
                    updated_at: j.updated_at,
                })
                .collect(),
            next_token,
        })
    }
}

fn job(record: &IngestionJobRecord) -> IngestionJob {
    IngestionJob {
        knowledge_base_id: KnowledgeBaseId::stored(&record.knowledge_base_id),
        data_source_id: DataSourceId::stored(&record.data_source_id),
        ingestion_job_id: IngestionJobId::stored(&record.id),
        description: record.description.clone(),
        status: record.status,
        statistics: record.statistics.clone(),
        failure_reasons: record.failure_reasons.clone(),
        started_at: record.started_at.clone(),
        updated_at: record.updated_at.clone(),
    }
}
