use super::*;

const DETAILS: &str = r#"{
  "UserDetailList": [], "GroupDetailList": [],
  "RoleDetailList": [{
    "Path": "/", "RoleName": "web", "RoleId": "AROAEXAMPLE0000000001",
    "Arn": "arn:aws:iam::111122223333:role/web", "CreateDate": "2023-01-02T03:04:05+00:00",
    "RolePolicyList": [
      {"PolicyName": "obj", "PolicyDocument": {"Version": "2012-10-17", "Statement": []}},
      {"PolicyName": "enc", "PolicyDocument": "%7B%22Statement%22%3A%5B%5D%7D"}
    ],
    "AttachedManagedPolicies": [{"PolicyName": "p", "PolicyArn": "arn:aws:iam::111122223333:policy/p"}],
    "Tags": [{"Key": "team", "Value": "web"}],
    "RoleLastUsed": {}
  }],
  "Policies": [{
    "PolicyName": "p", "PolicyId": "ANPAEXAMPLE0000000001", "Arn": "arn:aws:iam::111122223333:policy/p",
    "Path": "/", "DefaultVersionId": "v2", "AttachmentCount": 1,
    "PolicyVersionList": [
      {"Document": {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}, "VersionId": "v2", "IsDefaultVersion": true},
      {"Document": "%7B%7D", "VersionId": "v1", "IsDefaultVersion": false}
    ]
  }],
  "IsTruncated": false
}"#;

#[test]
fn parses_roles_policies_and_encoded_documents() {
    let e = parse_authorization_details(DETAILS).unwrap();
    assert_eq!(e.roles.len(), 1);
    let r = &e.roles[0];
    assert_eq!(r.name, "web");
    assert_eq!(r.inline_policies["enc"], r#"{"Statement":[]}"#);
    assert_eq!(r.tags["team"], "web");
    assert_eq!(r.last_used, None);
    let p = &e.managed_policies["arn:aws:iam::111122223333:policy/p"];
    assert!(p.document.contains("s3:GetObject"));
    assert!(!p.is_aws_managed());
}

#[test]
fn bad_dates_name_the_element() {
    let text = DETAILS.replace("2023-01-02T03:04:05+00:00", "yesterday");
    let err = parse_authorization_details(&text).unwrap_err().to_string();
    assert!(err.contains("RoleDetailList[0] (web).CreateDate"), "{err}");
    assert!(err.contains("yesterday"), "{err}");
}

#[test]
fn wrong_shape_is_a_clear_error() {
    let err = parse_authorization_details(r#"{"Roles": []}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("get-account-authorization-details"), "{err}");
    assert!(err.contains("RoleDetailList"), "{err}");
}

const ACCESSED: &str = r#"{
  "JobStatus": "COMPLETED", "JobType": "ACTION_LEVEL",
  "JobCreationDate": "2026-11-19T08:00:00.120000+00:00",
  "ServicesLastAccessed": [
    {"ServiceName": "Amazon S3", "ServiceNamespace": "s3", "LastAuthenticated": "2026-11-01T10:00:00+00:00",
     "LastAuthenticatedEntity": "arn:aws:iam::111122223333:role/web", "LastAuthenticatedRegion": "us-east-1",
     "TotalAuthenticatedEntities": 1,
     "TrackedActionsLastAccessed": [
       {"ActionName": "PutBucketPolicy", "LastAccessedTime": "2026-10-01T00:00:00+00:00"},
       {"ActionName": "CreateBucket"}
     ]},
    {"ServiceName": "Amazon DynamoDB", "ServiceNamespace": "dynamodb", "TotalAuthenticatedEntities": 0}
  ],
  "JobCompletionDate": "2026-11-19T08:00:03.456000+00:00",
  "IsTruncated": false
}"#;

#[test]
fn parses_action_level_usage() {
    let u = parse_last_accessed(ACCESSED).unwrap();
    assert_eq!(u.granularity, Granularity::Action);
    assert_eq!(u.observed_at.to_rfc3339(), "2026-11-19T08:00:03.456+00:00");
    assert!(u.services["s3"].last_authenticated.is_some());
    assert!(u.services["s3"].actions["putbucketpolicy"].is_some());
    assert_eq!(u.services["s3"].actions["createbucket"], None);
    assert_eq!(u.services["dynamodb"].last_authenticated, None);
}

#[test]
fn unfinished_or_truncated_jobs_are_refused() {
    let running = ACCESSED.replace("COMPLETED", "IN_PROGRESS");
    let err = parse_last_accessed(&running).unwrap_err().to_string();
    assert!(err.contains("JobStatus"), "{err}");
    let truncated = ACCESSED.replace("\"IsTruncated\": false", "\"IsTruncated\": true");
    assert!(
        parse_last_accessed(&truncated)
            .unwrap_err()
            .to_string()
            .contains("IsTruncated")
    );
}

#[test]
fn authorization_details_round_trip() {
    let e = parse_authorization_details(DETAILS).unwrap();
    let text = to_authorization_details(&e).to_string();
    let back = parse_authorization_details(&text).unwrap();
    assert_eq!(back.roles, e.roles);
    assert_eq!(back.managed_policies, e.managed_policies);
}
