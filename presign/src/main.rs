//! Lambda glue for the presign function: builds the AWS clients once, then for each
//! API Gateway HTTP API (payload 2.0) event calls the pure logic in the library and the
//! few AWS calls it needs (DynamoDB GetItem for the quota, S3 HeadObject for fetch).

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use presign::{
    check_quota, is_live, number_attr, parse_event, presign_get, presign_put, presigned_body, response, ApiError,
    Config, FileRequest, Route, Usage, QUOTA_SK,
};
use serde_json::Value;

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
        Ok::<Value, Error>(match handle(app, &event.payload).await {
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

async fn handle(app: &App, event: &Value) -> Result<Value, ApiError> {
    let req = parse_event(event)?;
    match req.route {
        Route::Create => create(app, &req).await,
        Route::Fetch => fetch(app, &req).await,
    }
}

async fn create(app: &App, req: &FileRequest) -> Result<Value, ApiError> {
    let size = req.size.unwrap_or(0);
    let usage = usage(app, req).await?;
    check_quota(usage, size, app.cfg.quota_bytes)?;
    let presigned = presign_put(&app.s3, &app.cfg.bucket, &req.key, size, app.cfg.url_expiry).await?;
    Ok(response(200, &presigned_body(&presigned, &req.key, &req.user, app.cfg.url_expiry, Some(size))))
}

/// The user's Quota item and the inventory item of the key (an overwrite only adds the difference).
async fn usage(app: &App, req: &FileRequest) -> Result<Usage, ApiError> {
    let get = |sk: String| {
        app.ddb
            .get_item()
            .table_name(&app.cfg.table)
            .key("PK", AttributeValue::S(req.user.clone()))
            .key("SK", AttributeValue::S(sk))
            .consistent_read(true)
            .send()
    };
    let (quota, file) = tokio::join!(get(QUOTA_SK.to_string()), get(req.key.clone()));
    let quota = quota.map_err(|e| ApiError::internal(format!("reading the quota: {e}")))?;
    let file = file.map_err(|e| ApiError::internal(format!("reading the inventory: {e}")))?;
    let existing = if is_live(file.item()) { number_attr(file.item(), "Size") } else { 0 };
    Ok(Usage { total_bytes: number_attr(quota.item(), "TotalSize"), existing_bytes: existing })
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
