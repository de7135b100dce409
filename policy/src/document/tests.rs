use super::*;

#[test]
fn parses_single_statement_object_and_string_values() {
    let d = PolicyDocument::parse(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#,
    );
    assert!(d.opaque_reason.is_none());
    assert_eq!(d.statements.len(), 1);
    assert_eq!(
        d.statements[0].meaning,
        Some((Effect::Allow, Grant::Action(vec!["s3:GetObject".into()])))
    );
}

#[test]
fn accepts_the_url_encoded_form_iam_returns() {
    let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Deny%22%2C%22NotAction%22%3A%5B%22iam%3A%2A%22%5D%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
    let d = PolicyDocument::parse(encoded);
    assert!(d.opaque_reason.is_none());
    assert_eq!(
        d.statements[0].meaning,
        Some((Effect::Deny, Grant::NotAction(vec!["iam:*".into()])))
    );
}

#[test]
fn odd_statements_are_opaque_not_errors() {
    let d = PolicyDocument::parse(
        r#"{"Statement":[{"Effect":"allow","Action":"s3:*"},{"Effect":"Allow","Action":["s3:*",3]},{"Effect":"Allow","Action":"s3:*","Weird":1},"x"]}"#,
    );
    assert!(d.opaque_reason.is_none());
    assert!(
        d.statements
            .iter()
            .all(|s| s.meaning.is_none() && s.opaque_reason.is_some())
    );
}

#[test]
fn broken_documents_are_opaque_not_errors() {
    for text in [
        "{",
        "[]",
        r#"{"Version":"2012-10-17"}"#,
        r#"{"Statement":3}"#,
    ] {
        let d = PolicyDocument::parse(text);
        assert!(d.opaque_reason.is_some(), "{text}");
        assert!(d.with_statements(vec![]).is_none());
    }
}

#[test]
fn rewriting_keeps_other_keys_in_place() {
    let d = PolicyDocument::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","NotAction":"iam:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}"#,
    );
    let st = d.statements[0].with_actions(&["s3:GetObject".into(), "s3:PutObject".into()]);
    let text = d.with_statements(vec![st]).unwrap();
    assert_eq!(
        text,
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}"#
    );
}

#[test]
fn iam_size_ignores_whitespace() {
    assert_eq!(iam_size("{ \"a\" :\n 1 }"), 7);
}
