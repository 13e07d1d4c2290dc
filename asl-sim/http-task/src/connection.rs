//! EventBridge connections: the properties of `AWS::Events::Connection`
//! (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-events-connection.html),
//! read from a template resource or from a local connections file.

use serde_json::Value;
use std::collections::BTreeMap;

/// One header, query-string or body parameter of a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    pub key: String,
    pub value: String,
}

/// `HeaderParameters`, `QueryStringParameters`, `BodyParameters` of a connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpParameters {
    pub headers: Vec<Param>,
    pub query: Vec<Param>,
    pub body: Vec<Param>,
}

impl HttpParameters {
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty() && self.query.is_empty() && self.body.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    ApiKey { name: String, value: String },
    Basic { username: String, password: String },
    OAuthClientCredentials {
        authorization_endpoint: String,
        /// GET, POST or PUT (`HttpMethod`).
        method: String,
        client_id: String,
        client_secret: String,
        /// `OAuthHttpParameters`: sent with the token request only.
        http: HttpParameters,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    pub name: String,
    pub arn: String,
    pub auth: Auth,
    /// `InvocationHttpParameters`: added to every request made through the connection.
    pub invocation: HttpParameters,
}

/// Where a property came from, for error messages.
fn at(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

fn string(v: &Value, path: &str, field: &str) -> Result<String, String> {
    match v.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Object(o)) if o.keys().any(|k| k.starts_with("Fn::") || k == "Ref") => Err(format!(
            "{} is a CloudFormation intrinsic ({}); give the value itself in a local connections file",
            at(path, field),
            o.keys().next().map(String::as_str).unwrap_or("")
        )),
        Some(_) => Err(format!("{} must be a string", at(path, field))),
        None => Err(format!("{} is required", at(path, field))),
    }
}

fn params(v: Option<&Value>, path: &str) -> Result<Vec<Param>, String> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let Value::Array(items) = v else { return Err(format!("{path} must be a list of {{Key, Value}}")) };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let key = string(item, &p, "Key")?;
        let value = match item.get("Value") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            _ => string(item, &p, "Value")?,
        };
        out.push(Param { key, value });
    }
    Ok(out)
}

fn http_parameters(v: Option<&Value>, path: &str) -> Result<HttpParameters, String> {
    let Some(v) = v else { return Ok(HttpParameters::default()) };
    if !v.is_object() {
        return Err(format!("{path} must be an object"));
    }
    Ok(HttpParameters {
        headers: params(v.get("HeaderParameters"), &at(path, "HeaderParameters"))?,
        query: params(v.get("QueryStringParameters"), &at(path, "QueryStringParameters"))?,
        body: params(v.get("BodyParameters"), &at(path, "BodyParameters"))?,
    })
}

impl Connection {
    /// Reads the `Properties` of an `AWS::Events::Connection`. `path` prefixes error messages.
    pub fn from_properties(name: &str, arn: &str, props: &Value, path: &str) -> Result<Connection, String> {
        if !props.is_object() {
            return Err(format!("{path} must be an object"));
        }
        let kind = string(props, path, "AuthorizationType")?;
        let auth_path = at(path, "AuthParameters");
        let auth_params = props.get("AuthParameters").ok_or_else(|| format!("{auth_path} is required"))?;
        let auth = match kind.as_str() {
            "API_KEY" => {
                let p = at(&auth_path, "ApiKeyAuthParameters");
                let a = auth_params.get("ApiKeyAuthParameters").ok_or_else(|| format!("{p} is required for API_KEY"))?;
                Auth::ApiKey { name: string(a, &p, "ApiKeyName")?, value: string(a, &p, "ApiKeyValue")? }
            }
            "BASIC" => {
                let p = at(&auth_path, "BasicAuthParameters");
                let a = auth_params.get("BasicAuthParameters").ok_or_else(|| format!("{p} is required for BASIC"))?;
                Auth::Basic { username: string(a, &p, "Username")?, password: string(a, &p, "Password")? }
            }
            "OAUTH_CLIENT_CREDENTIALS" => {
                let p = at(&auth_path, "OAuthParameters");
                let a = auth_params.get("OAuthParameters").ok_or_else(|| format!("{p} is required for OAUTH_CLIENT_CREDENTIALS"))?;
                let method = string(a, &p, "HttpMethod")?;
                if !["GET", "POST", "PUT"].contains(&method.as_str()) {
                    return Err(format!("{}: {method:?} is not one of GET, POST, PUT", at(&p, "HttpMethod")));
                }
                let cp = at(&p, "ClientParameters");
                let client = a.get("ClientParameters").ok_or_else(|| format!("{cp} is required"))?;
                Auth::OAuthClientCredentials {
                    authorization_endpoint: string(a, &p, "AuthorizationEndpoint")?,
                    method,
                    client_id: string(client, &cp, "ClientID")?,
                    client_secret: string(client, &cp, "ClientSecret")?,
                    http: http_parameters(a.get("OAuthHttpParameters"), &at(&p, "OAuthHttpParameters"))?,
                }
            }
            other => {
                return Err(format!(
                    "{}: {other:?} is not one of API_KEY, BASIC, OAUTH_CLIENT_CREDENTIALS",
                    at(path, "AuthorizationType")
                ))
            }
        };
        let invocation = http_parameters(auth_params.get("InvocationHttpParameters"), &at(&auth_path, "InvocationHttpParameters"))?;
        Ok(Connection { name: name.to_string(), arn: arn.to_string(), auth, invocation })
    }
}

/// The connection ARN EventBridge gives a connection: `arn:aws:events:REGION:ACCOUNT:connection/NAME/UUID`.
/// The UUID is derived from the name so that the same file gives the same ARN every run.
pub fn connection_arn(region: &str, account: &str, name: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let g = h.rotate_left(29) ^ 0x9E37_79B9_7F4A_7C15;
    format!(
        "arn:aws:events:{region}:{account}:connection/{name}/{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        g & 0xfff,
        g >> 16
    )
}

/// The name inside a connection ARN (`...:connection/NAME/UUID` or `...:connection/NAME`).
pub fn name_from_arn(arn: &str) -> Option<&str> {
    let rest = arn.split_once(":connection/")?.1;
    let name = rest.split('/').next()?;
    (!name.is_empty()).then_some(name)
}

/// The connections a run can use, found by their ARN.
#[derive(Clone, Debug, Default)]
pub struct Connections {
    by_arn: BTreeMap<String, Connection>,
}

impl Connections {
    pub fn new() -> Connections {
        Connections::default()
    }

    pub fn insert(&mut self, c: Connection) {
        self.by_arn.insert(c.arn.clone(), c);
    }

    pub fn len(&self) -> usize {
        self.by_arn.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_arn.is_empty()
    }

    /// The connection with this exact ARN, else the one whose name the ARN carries:
    /// definitions written for AWS name ARNs with EventBridge's random suffix, which a
    /// local file cannot know.
    pub fn resolve(&self, arn: &str) -> Option<&Connection> {
        if let Some(c) = self.by_arn.get(arn) {
            return Some(c);
        }
        let name = name_from_arn(arn)?;
        self.by_arn.values().find(|c| c.name == name)
    }

    /// Adds the connections of a document, which is either a connections file
    /// (`{"Connections": [{"Name": ..., "Arn"?: ..., <AWS::Events::Connection properties>}]}`)
    /// or a CloudFormation/SAM template (its `AWS::Events::Connection` resources; a resource's
    /// name is its `Name` property, else its logical id).
    pub fn load_document(&mut self, doc: &Value, region: &str, account: &str) -> Result<usize, String> {
        let Value::Object(top) = doc else { return Err("a connections file must be an object".into()) };
        let mut added = 0;
        if let Some(list) = top.get("Connections") {
            let Value::Array(list) = list else { return Err("Connections must be a list".into()) };
            for (i, c) in list.iter().enumerate() {
                let path = format!("Connections[{i}]");
                let name = string(c, &path, "Name")?;
                let arn = match c.get("Arn") {
                    None => connection_arn(region, account, &name),
                    Some(_) => string(c, &path, "Arn")?,
                };
                self.insert(Connection::from_properties(&name, &arn, c, &path)?);
                added += 1;
            }
        }
        if let Some(resources) = top.get("Resources") {
            let Value::Object(resources) = resources else { return Err("Resources must be an object".into()) };
            for (id, r) in resources {
                if r.get("Type").and_then(Value::as_str) != Some("AWS::Events::Connection") {
                    continue;
                }
                let path = format!("Resources.{id}.Properties");
                let props = r.get("Properties").ok_or_else(|| format!("{path} is required"))?;
                let name = match props.get("Name") {
                    Some(Value::String(s)) => s.clone(),
                    _ => id.clone(),
                };
                let arn = connection_arn(region, account, &name);
                self.insert(Connection::from_properties(&name, &arn, props, &path)?);
                added += 1;
            }
        }
        if !top.contains_key("Connections") && !top.contains_key("Resources") {
            return Err("a connections file needs a Connections list (or a template's Resources)".into());
        }
        Ok(added)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_each_authorization_type() {
        let doc = json!({"Connections": [
            {"Name": "k", "AuthorizationType": "API_KEY", "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cr3t"},
                "InvocationHttpParameters": {"HeaderParameters": [{"Key": "h", "Value": "1", "IsValueSecret": false}], "QueryStringParameters": [{"Key": "q", "Value": 2}]}}},
            {"Name": "b", "Arn": "arn:aws:events:us-east-1:1:connection/b/x", "AuthorizationType": "BASIC", "AuthParameters": {"BasicAuthParameters": {"Username": "u", "Password": "p"}}},
            {"Name": "o", "AuthorizationType": "OAUTH_CLIENT_CREDENTIALS", "AuthParameters": {"OAuthParameters": {"AuthorizationEndpoint": "http://127.0.0.1:1/token", "HttpMethod": "POST",
                "ClientParameters": {"ClientID": "id", "ClientSecret": "sec"}, "OAuthHttpParameters": {"BodyParameters": [{"Key": "grant_type", "Value": "client_credentials"}]}}}}
        ]});
        let mut cs = Connections::new();
        assert_eq!(cs.load_document(&doc, "us-east-1", "123456789012"), Ok(3));
        let k = cs.resolve(&connection_arn("us-east-1", "123456789012", "k")).unwrap();
        assert_eq!(k.auth, Auth::ApiKey { name: "x-api-key".into(), value: "s3cr3t".into() });
        assert_eq!(k.invocation.query, vec![Param { key: "q".into(), value: "2".into() }]);
        assert!(matches!(cs.resolve("arn:aws:events:us-east-1:1:connection/b/x").unwrap().auth, Auth::Basic { .. }));
        // A definition written for AWS carries EventBridge's random suffix: found by name.
        let o = cs.resolve("arn:aws:events:us-east-2:123456789012:connection/o/81210c42-8af1-456b-9c4a-6ff02fc664ac").unwrap();
        let Auth::OAuthClientCredentials { http, .. } = &o.auth else { panic!("{o:?}") };
        assert_eq!(http.body[0].key, "grant_type");
        assert!(cs.resolve("arn:aws:events:us-east-1:1:connection/none/x").is_none());
    }

    #[test]
    fn reads_template_resources() {
        let doc = json!({"Resources": {
            "StripeConnection": {"Type": "AWS::Events::Connection", "Properties": {"AuthorizationType": "API_KEY",
                "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "Authorization", "ApiKeyValue": "Bearer sk"}}}},
            "Fn": {"Type": "AWS::Serverless::Function", "Properties": {}}
        }});
        let mut cs = Connections::new();
        assert_eq!(cs.load_document(&doc, "eu-west-1", "1"), Ok(1));
        assert_eq!(cs.resolve("arn:aws:events:eu-west-1:1:connection/StripeConnection/abc").unwrap().name, "StripeConnection");
    }

    #[test]
    fn bad_connections_name_the_field() {
        let cases = [
            (json!({"Connections": [{"Name": "a", "AuthorizationType": "DIGEST", "AuthParameters": {}}]}), "Connections[0].AuthorizationType: \"DIGEST\" is not one of API_KEY, BASIC, OAUTH_CLIENT_CREDENTIALS"),
            (json!({"Connections": [{"Name": "a", "AuthorizationType": "BASIC", "AuthParameters": {"BasicAuthParameters": {"Username": "u"}}}]}), "Connections[0].AuthParameters.BasicAuthParameters.Password is required"),
            (json!({"Connections": [{"Name": "a", "AuthorizationType": "API_KEY", "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": {"Fn::Sub": "x"}}}}]}), "Connections[0].AuthParameters.ApiKeyAuthParameters.ApiKeyValue is a CloudFormation intrinsic (Fn::Sub); give the value itself in a local connections file"),
            (json!({"Connections": {}}), "Connections must be a list"),
            (json!([]), "a connections file must be an object"),
            (json!({"Other": 1}), "a connections file needs a Connections list (or a template's Resources)"),
        ];
        for (doc, want) in cases {
            assert_eq!(Connections::new().load_document(&doc, "us-east-1", "1"), Err(want.to_string()));
        }
    }

    #[test]
    fn arns_are_stable_and_carry_the_name() {
        let a = connection_arn("us-east-1", "123456789012", "Stripe");
        assert_eq!(a, connection_arn("us-east-1", "123456789012", "Stripe"));
        assert!(a.starts_with("arn:aws:events:us-east-1:123456789012:connection/Stripe/"), "{a}");
        assert_eq!(name_from_arn(&a), Some("Stripe"));
    }
}
