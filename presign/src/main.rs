//! Lambda glue for the presign function: builds the AWS clients once, then for each
//! API Gateway HTTP API (payload 2.0) event calls the pure logic in the library and the
//! AWS calls it needs: the reservation transaction and the multipart calls for create, S3
//! HeadObject for fetch, the reservation read for parts, complete and abort.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use presign::{
    committed_limit, number_attr, parse_event, part_entry, pending_of, presign_get, presign_part, presign_put,
    presigned_body, quota_exceeded, release_transaction, reservation_delta, reservation_sk, reservation_transaction,
    response, ApiError, Config, FileRequest, PartPlan, Pending, Reservation, Route, PART_URLS_PER_ANSWER, QUOTA_SK,
};
use serde_json::{json, Value};

struct App {
    cfg: Config,
    s3: aws_sdk_s3::Client,
    ddb: aws_sdk_dynamodb::Client,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let cfg = Config::from_env(|name| std::env::var(name).ok())?;
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let base = aws_config::defaults(BehaviorVersion::latest()).http_client(http).load().await;
    let app = App {
        s3: aws_sdk_s3::Client::from_conf(presign::s3_config(&base, &cfg)),
        ddb: aws_sdk_dynamodb::Client::from_conf(presign::dynamodb_config(&base, &cfg)),
        cfg,
    };
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let request_id = event.context.request_id.clone();
        Ok::<Value, Error>(match handle(app, &event.payload, &request_id).await {
            Ok(v) => v,
            Err(e) => {
                if e.status >= 500 {
                    eprintln!("presign: {e}");
                }
                e.to_response()
            }
        })
    }))
    .await
}

async fn handle(app: &App, event: &Value, request_id: &str) -> Result<Value, ApiError> {
    let req = parse_event(event)?;
    match req.route {
        Route::Create => create(app, &req, request_id).await,
        Route::Fetch => fetch(app, &req).await,
        Route::Parts => parts(app, &req).await,
        Route::Complete => complete(app, &req).await,
        Route::Abort => abort(app, &req).await,
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The key's reservation item, read consistently.
async fn read_pending(app: &App, req: &FileRequest) -> Result<Option<Pending>, ApiError> {
    let out = app
        .ddb
        .get_item()
        .table_name(&app.cfg.table)
        .key("PK", AttributeValue::S(req.user.clone()))
        .key("SK", AttributeValue::S(reservation_sk(&req.key)))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| ApiError::internal(format!("reading the reservation: {e}")))?;
    Ok(pending_of(out.item()))
}

/// The user's committed bytes (used + reserved), for the 413 message.
async fn committed(app: &App, user: &str) -> u64 {
    let out = app
        .ddb
        .get_item()
        .table_name(&app.cfg.table)
        .key("PK", AttributeValue::S(user.to_string()))
        .key("SK", AttributeValue::S(QUOTA_SK.to_string()))
        .consistent_read(true)
        .send()
        .await;
    out.ok().map(|o| number_attr(o.item(), "Committed")).unwrap_or(0)
}

/// Why a transaction was cancelled, as DynamoDB's reason codes (one per item, "None" if fine).
fn cancellation_codes(
    err: &aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError>,
) -> Option<Vec<String>> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    match err.as_service_error()? {
        E::TransactionCanceledException(e) => {
            Some(e.cancellation_reasons().iter().map(|r| r.code().unwrap_or("None").to_string()).collect())
        }
        _ => None,
    }
}

async fn create(app: &App, req: &FileRequest, request_id: &str) -> Result<Value, ApiError> {
    let size = req.size.unwrap_or(0);
    let quota = app.cfg.quota_bytes;
    if size > quota {
        return Err(quota_exceeded(size, committed(app, &req.user).await, quota));
    }
    let multipart = size >= app.cfg.multipart_threshold;
    let plan = PartPlan::for_size(size);
    // DynamoDB cancels a transaction that races another on the Quota item (TransactionConflict);
    // those are retried here with jittered back-off, a few times, then answered 503.
    let mut upload_id: Option<String> = None;
    for attempt in 0..6u32 {
        let now = now_secs();
        let existing = read_pending(app, req).await?;
        let delta = reservation_delta(existing.as_ref(), size, now)?;
        let Some(limit) = committed_limit(quota, delta) else {
            return Err(quota_exceeded(size, committed(app, &req.user).await, quota));
        };
        if multipart && upload_id.is_none() {
            let out = app
                .s3
                .create_multipart_upload()
                .bucket(&app.cfg.bucket)
                .key(&req.key)
                .send()
                .await
                .map_err(|e| ApiError::internal(format!("starting the multipart upload: {e}")))?;
            upload_id = Some(out.upload_id().unwrap_or_default().to_string());
        }
        let lifetime = if multipart { app.cfg.multipart_lifetime } else { app.cfg.url_expiry };
        let expires = now + lifetime.as_secs();
        // Also the transaction's ClientRequestToken (at most 36 characters): the SDK's own
        // retries of a call whose answer was lost then apply it once.
        // The request id's last 33 characters: they differ between invocations (on AWS a UUID;
        // a local runtime may count, so its ids share a long prefix).
        let tail: String = request_id.chars().rev().take(33).collect::<Vec<_>>().into_iter().rev().collect();
        let reservation_id = format!("{tail}-{attempt}");
        let reservation = Reservation {
            user: &req.user,
            key: &req.key,
            size,
            reservation_id: &reservation_id,
            created: now,
            expires,
            upload_id: upload_id.as_deref(),
            part_size: multipart.then_some(plan.part_size),
        };
        let items = reservation_transaction(&app.cfg.table, &reservation, existing.as_ref(), delta, limit)?;
        match app.ddb.transact_write_items().set_transact_items(Some(items)).client_request_token(&reservation_id).send().await {
            Ok(_) => {
                if let Some(old) = existing.as_ref().and_then(|p| p.upload_id.clone()) {
                    // The replaced reservation's upload is dead (expired); free its parts.
                    let _ = app.s3.abort_multipart_upload().bucket(&app.cfg.bucket).key(&req.key).upload_id(old).send().await;
                }
                return match upload_id {
                    None => single_put_answer(app, req, size, expires).await,
                    Some(id) => multipart_answer(app, req, size, plan, &id, expires).await,
                };
            }
            Err(err) => {
                let codes = cancellation_codes(&err);
                let conflict = codes.as_ref().is_some_and(|c| c.iter().any(|c| c == "TransactionConflict"));
                match codes.as_deref() {
                    Some([_, quota_code, ..]) if quota_code == "ConditionalCheckFailed" => {
                        abort_quietly(app, req, upload_id.as_deref()).await;
                        return Err(quota_exceeded(size, committed(app, &req.user).await, quota));
                    }
                    // Another create for this key won the race: read again, and it answers 409.
                    Some([put_code, ..]) if put_code == "ConditionalCheckFailed" => continue,
                    _ if conflict => {
                        let jitter = (request_id.len() as u64 * 7 + u64::from(attempt) * 13) % 50;
                        tokio::time::sleep(Duration::from_millis((20u64 << attempt) + jitter)).await;
                        continue;
                    }
                    _ => {
                        abort_quietly(app, req, upload_id.as_deref()).await;
                        return Err(ApiError::internal(format!("reserving the upload: {err}")));
                    }
                }
            }
        }
    }
    abort_quietly(app, req, upload_id.as_deref()).await;
    Err(ApiError::new(503, "Busy", "too many concurrent uploads for this user; try again"))
}

async fn abort_quietly(app: &App, req: &FileRequest, upload_id: Option<&str>) {
    if let Some(id) = upload_id {
        let _ = app.s3.abort_multipart_upload().bucket(&app.cfg.bucket).key(&req.key).upload_id(id).send().await;
    }
}

async fn single_put_answer(app: &App, req: &FileRequest, size: u64, expires: u64) -> Result<Value, ApiError> {
    let presigned = presign_put(&app.s3, &app.cfg.bucket, &req.key, size, app.cfg.url_expiry).await?;
    let mut body = presigned_body(&presigned, &req.key, &req.user, app.cfg.url_expiry, Some(size));
    body["multipart"] = json!(false);
    body["reservedUntil"] = json!(expires);
    Ok(response(200, &body))
}

async fn part_urls(app: &App, req: &FileRequest, size: u64, plan: PartPlan, upload_id: &str, numbers: &[u64]) -> Result<Vec<Value>, ApiError> {
    let mut parts = Vec::with_capacity(numbers.len());
    for &n in numbers {
        if n > plan.part_count {
            return Err(ApiError::bad_request(format!("part {n} is past the last part ({})", plan.part_count)));
        }
        let presigned =
            presign_part(&app.s3, &app.cfg.bucket, &req.key, upload_id, n, plan.part_length(size, n), app.cfg.url_expiry).await?;
        parts.push(part_entry(&presigned, n));
    }
    Ok(parts)
}

async fn multipart_answer(app: &App, req: &FileRequest, size: u64, plan: PartPlan, upload_id: &str, expires: u64) -> Result<Value, ApiError> {
    let first: Vec<u64> = (1..=plan.part_count.min(PART_URLS_PER_ANSWER)).collect();
    let parts = part_urls(app, req, size, plan, upload_id, &first).await?;
    let relative = req.key.strip_prefix(&req.user).and_then(|k| k.strip_prefix('/')).unwrap_or(&req.key);
    Ok(response(
        200,
        &json!({
            "multipart": true, "key": relative, "size": size, "uploadId": upload_id,
            "partSize": plan.part_size, "partCount": plan.part_count, "parts": parts,
            "expiresIn": app.cfg.url_expiry.as_secs(), "reservedUntil": expires,
        }),
    ))
}

/// The reservation of the request's multipart upload, or 404 NoSuchUpload.
async fn multipart_reservation(app: &App, req: &FileRequest) -> Result<Pending, ApiError> {
    match read_pending(app, req).await? {
        Some(p) if p.upload_id.is_some() && p.upload_id == req.upload_id => Ok(p),
        _ => Err(ApiError::new(404, "NoSuchUpload", "no multipart upload with this uploadId is in progress for this file")),
    }
}

async fn parts(app: &App, req: &FileRequest) -> Result<Value, ApiError> {
    let pending = multipart_reservation(app, req).await?;
    let plan = PartPlan::for_size(pending.size);
    let upload_id = pending.upload_id.as_deref().unwrap_or_default();
    let parts = part_urls(app, req, pending.size, plan, upload_id, &req.part_numbers).await?;
    Ok(response(200, &json!({"uploadId": upload_id, "parts": parts, "expiresIn": app.cfg.url_expiry.as_secs()})))
}

async fn complete(app: &App, req: &FileRequest) -> Result<Value, ApiError> {
    let pending = multipart_reservation(app, req).await?;
    let parts: Vec<CompletedPart> = req
        .parts
        .iter()
        .map(|p| CompletedPart::builder().part_number(p.part_number as i32).e_tag(&p.etag).build())
        .collect();
    let out = app
        .s3
        .complete_multipart_upload()
        .bucket(&app.cfg.bucket)
        .key(&req.key)
        .upload_id(pending.upload_id.as_deref().unwrap_or_default())
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
        .send()
        .await;
    match out {
        // The reservation is settled by the upload's Object Created event, like a single PUT's.
        Ok(o) => Ok(response(200, &json!({"completed": true, "etag": o.e_tag(), "size": pending.size}))),
        Err(err) => {
            let code = err.as_service_error().and_then(|e| aws_sdk_s3::error::ProvideErrorMetadata::code(e)).unwrap_or("");
            if code == "NoSuchUpload" {
                // A retried complete whose first answer was lost finds the upload gone: the
                // object is there, so the upload did complete.
                if let Ok(head) = app.s3.head_object().bucket(&app.cfg.bucket).key(&req.key).send().await {
                    if head.e_tag().is_some_and(|e| e.trim_matches('"').contains('-')) {
                        return Ok(response(200, &json!({"completed": true, "etag": head.e_tag(), "size": pending.size})));
                    }
                }
            }
            match code {
                "InvalidPart" | "InvalidPartOrder" | "EntityTooSmall" | "NoSuchUpload" => {
                    let message = err.as_service_error().and_then(|e| aws_sdk_s3::error::ProvideErrorMetadata::message(e)).unwrap_or(code);
                    Err(ApiError::new(400, "InvalidUpload", format!("{code}: {message}")))
                }
                _ => Err(ApiError::internal(format!("completing the upload: {err}"))),
            }
        }
    }
}

async fn abort(app: &App, req: &FileRequest) -> Result<Value, ApiError> {
    let pending = multipart_reservation(app, req).await?;
    let upload_id = pending.upload_id.clone().unwrap_or_default();
    let aborted = app.s3.abort_multipart_upload().bucket(&app.cfg.bucket).key(&req.key).upload_id(&upload_id).send().await;
    if let Err(err) = aborted {
        let gone = err.as_service_error().and_then(|e| aws_sdk_s3::error::ProvideErrorMetadata::code(e)) == Some("NoSuchUpload");
        if !gone {
            return Err(ApiError::internal(format!("aborting the upload: {err}")));
        }
    }
    let items = release_transaction(&app.cfg.table, &req.user, &req.key, &pending)?;
    match app.ddb.transact_write_items().set_transact_items(Some(items)).send().await {
        Ok(_) => Ok(response(200, &json!({"aborted": true, "released": pending.size}))),
        // Released meanwhile (the scheduled release, or a concurrent abort): nothing left to free.
        Err(err) if cancellation_codes(&err).is_some() => Ok(response(200, &json!({"aborted": true, "released": 0}))),
        Err(err) => Err(ApiError::internal(format!("releasing the reservation: {err}"))),
    }
}

async fn fetch(app: &App, req: &FileRequest) -> Result<Value, ApiError> {
    let head = app.s3.head_object().bucket(&app.cfg.bucket).key(&req.key).send().await;
    let size = match head {
        Ok(out) => out.content_length().and_then(|n| u64::try_from(n).ok()),
        Err(err) => {
            let not_found = err.as_service_error().map(|e| e.is_not_found()).unwrap_or(false)
                || err.raw_response().map(|r| r.status().as_u16() == 404).unwrap_or(false);
            if not_found {
                return Err(ApiError::new(404, "NotFound", "no such file"));
            }
            return Err(ApiError::internal(format!("checking the file: {err}")));
        }
    };
    let presigned = presign_get(&app.s3, &app.cfg.bucket, &req.key, app.cfg.url_expiry).await?;
    Ok(response(200, &presigned_body(&presigned, &req.key, &req.user, app.cfg.url_expiry, size)))
}
