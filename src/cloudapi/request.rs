//! A control API request as it arrived: method, path, the decoded query
//! and form parameters and the headers, and the parameters the actions
//! read. The cloud's SDKs send three shapes, all accepted: `POST /` with
//! everything in the query (ACS3 signatures, action in `x-acs-action`),
//! `GET /` with everything in the query, and `POST /` with everything in an
//! `application/x-www-form-urlencoded` body (RPC signatures, `Action` and
//! `Version` as parameters).

use std::collections::BTreeMap;

use super::error::ApiError;

#[derive(Debug, Clone)]
pub(crate) struct ApiRequest {
    pub(crate) method: String,
    /// The path as sent (`/`).
    pub(crate) path: String,
    /// Query parameters, decoded (`+` is a space, as the SDKs encode it).
    pub(crate) query: Vec<(String, String)>,
    /// Form body parameters, decoded; empty for other bodies.
    pub(crate) form: Vec<(String, String)>,
    /// Header names lowercased, values as sent.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl ApiRequest {
    pub(crate) fn new(
        method: &str,
        path: &str,
        query: Option<&str>,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> ApiRequest {
        let decode = |s: &[u8]| {
            form_urlencoded::parse(s)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect::<Vec<_>>()
        };
        let is_form = headers.iter().any(|(k, v)| {
            k == "content-type" && v.starts_with("application/x-www-form-urlencoded")
        });
        ApiRequest {
            method: method.to_string(),
            path: path.to_string(),
            query: decode(query.unwrap_or("").as_bytes()),
            form: if is_form { decode(&body) } else { Vec::new() },
            headers,
            body,
        }
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Query and form parameters together (form wins on a clash).
    pub(crate) fn params(&self) -> Params {
        Params(self.query.iter().chain(self.form.iter()).cloned().collect())
    }

    /// The action and API version: the `x-acs-*` headers, else the
    /// `Action` / `Version` parameters.
    pub(crate) fn action(&self) -> Result<(String, String), ApiError> {
        let params = self.params();
        let pick = |header: &str, param: &str| {
            self.header(header)
                .map(str::to_string)
                .or_else(|| params.get(param).map(str::to_string))
        };
        let action = pick("x-acs-action", "Action").ok_or_else(|| ApiError::missing("Action"))?;
        let version =
            pick("x-acs-version", "Version").ok_or_else(|| ApiError::missing("Version"))?;
        Ok((action, version))
    }
}

/// The request's parameters by name (`Zone.1.ZoneId` flattened as sent).
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(pub BTreeMap<String, String>);

impl Params {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub(crate) fn required(&self, name: &str) -> Result<&str, ApiError> {
        match self.get(name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(ApiError::missing(name)),
        }
    }

    /// A boolean: `true`/`True`/`false`/`False` (the SDKs send Python's).
    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(ApiError::illegal(
                name,
                format!("'{v}' is not true or false"),
            )),
        }
    }

    /// A number in `range`.
    pub(crate) fn number(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Option<u64>, ApiError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        match v.parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(ApiError::illegal(
                name,
                format!(
                    "'{v}' is not a number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )),
        }
    }

    /// A repeated parameter `Name.1`, `Name.2`, ...: its values by index,
    /// in index order.
    pub(crate) fn list(&self, name: &str) -> Vec<(u32, &str)> {
        let mut out: Vec<(u32, &str)> = self
            .0
            .iter()
            .filter_map(|(k, v)| {
                let n = k.strip_prefix(name)?.strip_prefix('.')?.parse().ok()?;
                Some((n, v.as_str()))
            })
            .collect();
        out.sort_by_key(|(n, _)| *n);
        out
    }

    /// A repeated structure `Name.N.Field`: for each N (in order), its
    /// fields.
    pub(crate) fn structs(&self, name: &str) -> Vec<(u32, BTreeMap<&str, &str>)> {
        let mut out: BTreeMap<u32, BTreeMap<&str, &str>> = BTreeMap::new();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix(name).and_then(|r| r.strip_prefix('.')) else {
                continue;
            };
            let Some((n, field)) = rest.split_once('.') else {
                continue;
            };
            if let Ok(n) = n.parse() {
                out.entry(n).or_default().insert(field, v.as_str());
            }
        }
        out.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattened_parameters_come_back_by_index() {
        let r = ApiRequest::new(
            "POST",
            "/",
            Some(
                "Zone.2.ZoneId=b&Zone.1.ZoneId=a&Zone.1.ip=127.0.1.10&SecurityGroupId.1=sg-1&ClientToken=tok+1",
            ),
            vec![],
            vec![],
        );
        let p = r.params();
        assert_eq!(p.get("ClientToken"), Some("tok 1"));
        assert_eq!(p.list("SecurityGroupId"), [(1, "sg-1")]);
        let zones = p.structs("Zone");
        assert_eq!(zones.len(), 2);
        assert_eq!(zones[0].1["ip"], "127.0.1.10");
        assert_eq!(zones[1].1["ZoneId"], "b");
    }

    #[test]
    fn form_bodies_are_parameters_too() {
        let r = ApiRequest::new(
            "POST",
            "/",
            None,
            vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            b"Action=ListVpcEndpoints&Version=2020-04-15".to_vec(),
        );
        assert_eq!(
            r.action().unwrap(),
            ("ListVpcEndpoints".to_string(), "2020-04-15".to_string())
        );
    }
}
