//! Fixed requests signed by the official Python SDK (alibabacloud_tea_openapi
//! 0.4.6: `Utils.get_authorization` and `Utils.get_rpcsignature`) with
//! AccessKey `lab-key` / `lab-secret`; the signatures below are what it
//! computed.

use super::*;

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn verifier() -> Verifier {
    Verifier::new(&[AccessKey {
        id: "lab-key".into(),
        secret: "lab-secret".into(),
    }])
}

fn at(t: &str) -> SystemTime {
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .into()
}

/// The SDK's CreateVpcEndpoint as captured on the wire.
fn acs3_request(signature: &str, secret_key: &str) -> ApiRequest {
    let headers = [
        ("host", "127.0.0.1:18080"),
        ("x-acs-version", "2020-04-15"),
        ("x-acs-action", "CreateVpcEndpoint"),
        (
            "user-agent",
            "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2",
        ),
        ("x-acs-date", "2026-12-01T14:42:10Z"),
        ("x-acs-signature-nonce", "c67c6f24a791111390d7c1eedf7c682d"),
        ("accept", "application/json"),
        ("x-acs-content-sha256", EMPTY_SHA256),
        ("x-acs-credentials-provider", "static_ak"),
        (
            "authorization",
            &format!(
                "ACS3-HMAC-SHA256 Credential={secret_key},SignedHeaders=accept;host;user-agent;\
                 x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;\
                 x-acs-signature-nonce;x-acs-version,Signature={signature}"
            ),
        ),
    ];
    ApiRequest::new(
        "POST",
        "/",
        Some(
            "ClientToken=tok+1&RegionId=cn-hangzhou&SecurityGroupId.1=sg-1&ServiceId=epsrv-oss\
             &VpcId=vpc-lab&Zone.1.VSwitchId=vsw-h&Zone.1.ZoneId=cn-hangzhou-h\
             &Zone.1.ip=127.0.1.10&ZoneAffinityEnabled=True",
        ),
        headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        Vec::new(),
    )
}

const ACS3_SIGNATURE: &str = "745f8a70e4ca41cbac0e516cfc5bb67d59316bb77775a69e1afc178b2ec68976";

#[test]
fn the_sdks_acs3_signature_verifies() {
    let v = verifier();
    let req = acs3_request(ACS3_SIGNATURE, "lab-key");
    assert_eq!(
        v.verify(&req, at("2026-12-01T14:50:00Z")),
        Ok("lab-key".into())
    );
    // The same request again: its nonce was used.
    assert_eq!(
        v.verify(&req, at("2026-12-01T14:50:00Z")).unwrap_err().code,
        "SignatureNonceUsed"
    );
}

#[test]
fn acs3_refusals_carry_the_clouds_codes() {
    let code = |req: &ApiRequest, now: &str| verifier().verify(req, at(now)).unwrap_err();
    let now = "2026-12-01T14:42:10Z";
    // One hex digit changed.
    let wrong = ACS3_SIGNATURE.replace("745f", "745e");
    let e = code(&acs3_request(&wrong, "lab-key"), now);
    assert_eq!((e.status, e.code.as_str()), (400, "SignatureDoesNotMatch"));
    let e = code(&acs3_request(ACS3_SIGNATURE, "other-key"), now);
    assert_eq!(
        (e.status, e.code.as_str()),
        (404, "InvalidAccessKeyId.NotFound")
    );
    let e = code(
        &acs3_request(ACS3_SIGNATURE, "lab-key"),
        "2026-12-01T14:57:11Z",
    );
    assert_eq!(
        (e.status, e.code.as_str()),
        (400, "InvalidTimeStamp.Expired")
    );
    let e = code(
        &acs3_request(ACS3_SIGNATURE, "lab-key"),
        "2026-12-01T14:27:09Z",
    );
    assert_eq!(e.code, "InvalidTimeStamp.Expired");
    // A parameter changed after signing.
    let mut req = acs3_request(ACS3_SIGNATURE, "lab-key");
    req.query[1].1 = "cn-shanghai".into();
    assert_eq!(code(&req, now).code, "SignatureDoesNotMatch");
    // A body that the payload hash does not describe.
    let mut req = acs3_request(ACS3_SIGNATURE, "lab-key");
    req.body = b"x".to_vec();
    let e = code(&req, now);
    assert_eq!(e.code, "SignatureDoesNotMatch");
    assert!(e.message.contains("x-acs-content-sha256"), "{e}");
    // No signature at all.
    let req = ApiRequest::new("POST", "/", Some("Action=ListVpcEndpoints"), vec![], vec![]);
    assert_eq!(code(&req, now).code, "SignatureDoesNotMatch");
}

/// `Utils.get_rpcsignature` over these parameters.
fn rpc_params(signature: &str) -> String {
    format!(
        "AccessKeyId=lab-key&Action=ListVpcEndpoints&EndpointName=a+b%2Bc%2Fd&Format=json\
         &RegionId=cn-hangzhou&SignatureMethod=HMAC-SHA1&SignatureNonce=n-1\
         &SignatureVersion=1.0&Timestamp=2026-12-01T14%3A42%3A10Z&Version=2020-04-15\
         &Signature={}",
        form_urlencoded::byte_serialize(signature.as_bytes()).collect::<String>()
    )
}

#[test]
fn the_sdks_rpc_signature_verifies_in_a_get_query_and_a_form_body() {
    let now = at("2026-12-01T14:42:10Z");
    let get = ApiRequest::new(
        "GET",
        "/",
        Some(&rpc_params("5e+iOoedkgGIfxtzdt59gtgf11k=")),
        vec![],
        vec![],
    );
    assert_eq!(verifier().verify(&get, now), Ok("lab-key".into()));
    let form = ApiRequest::new(
        "POST",
        "/",
        None,
        vec![(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        rpc_params("YWP2y0cPJBF+KzFmo1ZaVWPlFpQ=").into_bytes(),
    );
    assert_eq!(verifier().verify(&form, now), Ok("lab-key".into()));
    // POST with the parameters in the query signs the same string.
    let post = ApiRequest::new(
        "POST",
        "/",
        Some(&rpc_params("YWP2y0cPJBF+KzFmo1ZaVWPlFpQ=")),
        vec![],
        vec![],
    );
    assert_eq!(verifier().verify(&post, now), Ok("lab-key".into()));
    // The GET signature does not sign a POST.
    let wrong = ApiRequest::new(
        "POST",
        "/",
        Some(&rpc_params("5e+iOoedkgGIfxtzdt59gtgf11k=")),
        vec![],
        vec![],
    );
    assert_eq!(
        verifier().verify(&wrong, now).unwrap_err().code,
        "SignatureDoesNotMatch"
    );
}
