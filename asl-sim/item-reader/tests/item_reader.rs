//! ItemReader formats over an in-memory object store. Each case cites its AWS source.

use asl_item_reader::{read, ListedObject, ObjectStore, ERROR};
use flate2::{write::GzEncoder, Compression as Gz};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;

const ITEMREADER: &str = "https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html";

#[derive(Default)]
struct MemStore {
    objects: BTreeMap<(String, String), (Vec<u8>, i64)>,
}

impl MemStore {
    fn put(&mut self, bucket: &str, key: &str, body: impl Into<Vec<u8>>) -> &mut Self {
        self.objects.insert((bucket.into(), key.into()), (body.into(), 1_668_699_881_123));
        self
    }
}

impl ObjectStore for MemStore {
    fn get_object(&mut self, bucket: &str, key: &str) -> Result<Vec<u8>, (String, String)> {
        self.objects
            .get(&(bucket.to_string(), key.to_string()))
            .map(|(b, _)| b.clone())
            .ok_or_else(|| ("NoSuchKey".into(), "The specified key does not exist.".into()))
    }
    fn list_objects(&mut self, bucket: &str, prefix: Option<&str>) -> Result<Vec<ListedObject>, (String, String)> {
        Ok(self
            .objects
            .iter()
            .filter(|((b, k), _)| b == bucket && k.starts_with(prefix.unwrap_or("")))
            .map(|((_, k), (body, t))| ListedObject {
                key: k.clone(),
                etag: format!("\"{:032x}\"", body.len()),
                last_modified_ms: *t,
                size: body.len() as u64,
                storage_class: "STANDARD".into(),
            })
            .collect())
    }
}

fn get(config: Value) -> Value {
    json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": config})
}

fn params(key: &str) -> Value {
    json!({"Bucket": "b", "Key": key})
}

/// Source: ITEMREADER, "Processing objects in an S3 bucket" example item:
/// `{"Etag": "\"05704fbd...\"", "Key": "...", "LastModified": 1668699881, "Size": 34910, "StorageClass": "STANDARD"}`.
#[test]
fn list_objects_items_have_epoch_seconds() {
    let mut s = MemStore::default();
    s.put("b", "images/a.jpg", "1234").put("b", "images/b.jpg", "12").put("b", "other/c", "x");
    let reader = json!({"Resource": "arn:aws:states:::s3:listObjectsV2"});
    let items = read(&mut s, &reader, &json!({"Bucket": "b", "Prefix": "images/"})).unwrap();
    assert_eq!(items.len(), 2, "{ITEMREADER}");
    assert_eq!(
        items[0],
        json!({"Etag": "\"00000000000000000000000000000004\"", "Key": "images/a.jpg", "LastModified": 1_668_699_881, "Size": 4, "StorageClass": "STANDARD"})
    );
    // Other partitions name the same integration.
    let cn = json!({"Resource": "arn:aws-cn:states:::s3:listObjectsV2", "ReaderConfig": {"MaxItems": 1}});
    assert_eq!(read(&mut s, &cn, &json!({"Bucket": "b"})).unwrap().len(), 1);
}

/// Source: ITEMREADER, ReaderConfig InputType JSON / JSONL / CSV and MaxItems.
#[test]
fn json_jsonl_csv() {
    let mut s = MemStore::default();
    s.put("b", "a.json", r#"[{"id":1},{"id":2},{"id":3}]"#)
        .put("b", "a.jsonl", "{\"id\":1}\n\n{\"id\":2}\r\n[3]\n")
        .put("b", "a.csv", "id,name\n1,\"Doe, Jane\"\n2,\"say \"\"hi\"\"\"\n")
        .put("b", "a.tsv", "1\tx\n2\ty\n")
        .put("b", "obj.json", r#"{"not":"a list"}"#)
        .put("b", "bad.jsonl", "{\"id\":1}\n{oops\n");
    let cases: Vec<(Value, &str, Result<Value, &str>)> = vec![
        (json!({"InputType": "JSON"}), "a.json", Ok(json!([{"id": 1}, {"id": 2}, {"id": 3}]))),
        (json!({}), "a.json", Ok(json!([{"id": 1}, {"id": 2}, {"id": 3}]))),
        (json!({"InputType": "JSON", "MaxItems": 2}), "a.json", Ok(json!([{"id": 1}, {"id": 2}]))),
        (json!({"InputType": "JSON", "MaxItems": 0}), "a.json", Ok(json!([{"id": 1}, {"id": 2}, {"id": 3}]))),
        (json!({"InputType": "JSONL"}), "a.jsonl", Ok(json!([{"id": 1}, {"id": 2}, [3]]))),
        (json!({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}), "a.csv", Ok(json!([{"id": "1", "name": "Doe, Jane"}, {"id": "2", "name": "say \"hi\""}]))),
        (json!({"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["n", "v"], "CSVDelimiter": "TAB"}), "a.tsv", Ok(json!([{"n": "1", "v": "x"}, {"n": "2", "v": "y"}]))),
        (json!({"InputType": "JSON"}), "obj.json", Err("Attempting to map over non-iterable node.")),
        (json!({"InputType": "JSONL"}), "bad.jsonl", Err("invalid JSON line 2")),
        (json!({"InputType": "CSV", "CSVHeaderLocation": "GIVEN"}), "a.tsv", Err("CSVHeaders must be given when CSVHeaderLocation is GIVEN")),
        (json!({"InputType": "XML"}), "a.json", Err("InputType XML is not supported")),
        (json!({"InputType": "JSON", "MaxItems": -1}), "a.json", Err("field MaxItems must be positive")),
        (json!({"InputType": "JSON", "MaxItems": 100_000_001}), "a.json", Err("field MaxItems must be at most 100000000")),
        (json!({"InputType": "JSON"}), "missing.json", Err("NoSuchKey: The specified key does not exist.")),
    ];
    for (config, key, want) in cases {
        let got = read(&mut s, &get(config.clone()), &params(key));
        match want {
            Ok(v) => assert_eq!(got, Ok(v.as_array().unwrap().clone()), "{config} {key}"),
            Err(cause) => {
                let (e, c) = got.unwrap_err();
                assert_eq!(e, ERROR);
                assert!(c.contains(cause), "{config} {key}: {c}");
            }
        }
    }
}

fn gz(text: &str) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Gz::default());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

/// Source: ITEMREADER, "S3 inventory manifest" (items named by fileSchema, values as strings), and
/// the manifest's format, https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory-location.html
#[test]
fn s3_inventory_manifest() {
    let mut s = MemStore::default();
    let manifest = json!({
        "sourceBucket": "src", "destinationBucket": "arn:aws:s3:::inv", "version": "2016-11-30", "creationTimestamp": "1514944800000",
        "fileFormat": "CSV", "fileSchema": "Bucket, Key, Size, LastModifiedDate",
        "files": [{"key": "src/inv/data/1.csv.gz", "size": 10, "MD5checksum": "x"}, {"key": "src/inv/data/2.csv", "size": 10, "MD5checksum": "y"}]
    });
    s.put("b", "manifest.json", manifest.to_string())
        .put("inv", "src/inv/data/1.csv.gz", gz("\"src\",\"csvDataset/\",\"0\",\"2022-11-16T00:27:19.000Z\"\n\"src\",\"csvDataset/titles.csv\",\"3399671\",\"2022-11-16T00:29:32.000Z\"\n"))
        .put("inv", "src/inv/data/2.csv", "\"src\",\"more.csv\",\"7\",\"2022-11-17T00:00:00.000Z\"\n");
    let items = read(&mut s, &get(json!({"InputType": "MANIFEST"})), &params("manifest.json")).unwrap();
    assert_eq!(items.len(), 3, "{ITEMREADER}");
    assert_eq!(items[1], json!({"Bucket": "src", "Key": "csvDataset/titles.csv", "Size": "3399671", "LastModifiedDate": "2022-11-16T00:29:32.000Z"}));
    assert_eq!(read(&mut s, &get(json!({"InputType": "MANIFEST", "MaxItems": 2})), &params("manifest.json")).unwrap().len(), 2);

    let mut orc = manifest.clone();
    orc["fileFormat"] = json!("ORC");
    s.put("b", "orc.json", orc.to_string());
    let (_, cause) = read(&mut s, &get(json!({"InputType": "MANIFEST"})), &params("orc.json")).unwrap_err();
    assert!(cause.contains("only CSV inventory reports"), "{cause}");
    let mut missing = manifest.clone();
    missing["files"] = json!([{"key": "gone.csv.gz"}]);
    s.put("b", "missing.json", missing.to_string()).put("b", "notjson", "{");
    assert!(read(&mut s, &get(json!({"InputType": "MANIFEST"})), &params("missing.json")).unwrap_err().1.starts_with("NoSuchKey"));
    assert!(read(&mut s, &get(json!({"InputType": "MANIFEST"})), &params("notjson")).unwrap_err().1.contains("not valid JSON"));
    s.put("inv", "bad.gz", vec![0x1f, 0x8b, 0, 1, 2]);
    let mut badgz = manifest.clone();
    badgz["files"] = json!([{"key": "bad.gz"}]);
    s.put("b", "badgz.json", badgz.to_string());
    assert!(read(&mut s, &get(json!({"InputType": "MANIFEST"})), &params("badgz.json")).unwrap_err().1.contains("not valid gzip"));
}

fn parquet_file() -> Vec<u8> {
    use parquet::basic::Compression;
    use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    use std::sync::Arc;
    let schema = Arc::new(
        parse_message_type(
            "message m { REQUIRED INT64 id; REQUIRED BYTE_ARRAY name (UTF8); OPTIONAL DOUBLE score; REQUIRED BOOLEAN ok; REQUIRED INT32 day (DATE); }",
        )
        .unwrap(),
    );
    let props = Arc::new(WriterProperties::builder().set_compression(Compression::SNAPPY).build());
    let mut buf = Vec::new();
    let mut w = SerializedFileWriter::new(&mut buf, schema, props).unwrap();
    let mut rg = w.next_row_group().unwrap();
    let mut i = 0;
    while let Some(mut col) = rg.next_column().unwrap() {
        match i {
            0 => col.typed::<Int64Type>().write_batch(&[1, 2], None, None).map(|_| ()),
            1 => col.typed::<ByteArrayType>().write_batch(&[ByteArray::from("ann"), ByteArray::from("bo")], None, None).map(|_| ()),
            2 => col.typed::<DoubleType>().write_batch(&[0.5], Some(&[1, 0]), None).map(|_| ()),
            3 => col.typed::<BoolType>().write_batch(&[true, false], None, None).map(|_| ()),
            _ => col.typed::<Int32Type>().write_batch(&[19_000, 0], None, None).map(|_| ()),
        }
        .unwrap();
        col.close().unwrap();
        i += 1;
    }
    rg.close().unwrap();
    w.close().unwrap();
    buf
}

/// Source: ITEMREADER, ReaderConfig InputType PARQUET (one item per row).
#[test]
fn parquet_rows_become_items() {
    let mut s = MemStore::default();
    s.put("b", "data.parquet", parquet_file()).put("b", "fake.parquet", "PAR1 not really");
    let items = read(&mut s, &get(json!({"InputType": "PARQUET"})), &params("data.parquet")).unwrap();
    assert_eq!(
        items,
        vec![
            json!({"id": 1, "name": "ann", "score": 0.5, "ok": true, "day": "2022-01-08"}),
            json!({"id": 2, "name": "bo", "score": null, "ok": false, "day": "1970-01-01"}),
        ],
        "{ITEMREADER}"
    );
    assert_eq!(read(&mut s, &get(json!({"InputType": "PARQUET", "MaxItems": 1})), &params("data.parquet")).unwrap().len(), 1);
    let (e, cause) = read(&mut s, &get(json!({"InputType": "PARQUET"})), &params("fake.parquet")).unwrap_err();
    assert_eq!(e, ERROR);
    assert!(cause.contains("not a readable Parquet file"), "{cause}");
}

#[test]
fn unknown_resources_are_refused() {
    let mut s = MemStore::default();
    let (e, c) = read(&mut s, &json!({"Resource": "arn:aws:states:::dynamodb:scan"}), &json!({})).unwrap_err();
    assert_eq!((e.as_str(), c.as_str()), (ERROR, "the ItemReader resource arn:aws:states:::dynamodb:scan is not supported"));
}
