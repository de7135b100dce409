//! Reading the journal back: durability across reopen, filters, ids and sharing.

use super::*;

#[test]
fn records_survive_closing_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = {
        let j = open(dir.path());
        let a = j.begin(change("a"), t(0)).unwrap();
        let b = j.begin(change("b"), t(1)).unwrap();
        let c = j.begin(change("c"), t(2)).unwrap();
        let a = apply_all(&j, a.id, t(3));
        j.mark_applying(b.id, t(4)).unwrap();
        let b = j
            .record_step(b.id, 1, Some((MANAGED.into(), "v7".into())), t(5))
            .unwrap();
        let c = j.mark_reported(c.id).unwrap();
        (a, b, c)
    };
    let j = open(dir.path());
    assert_eq!(
        j.list(&ChangeFilter::default()).unwrap(),
        vec![a, b.clone(), c.clone()]
    );
    assert_eq!(j.unfinished().unwrap(), vec![b.clone(), c]);
    assert_eq!(
        j.unfinished().unwrap()[0].created_versions,
        b.created_versions
    );
}

#[test]
fn unreported_holds_what_changed_since_the_last_acknowledgement() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path());
    let a = j.begin(change("a"), t(0)).unwrap();
    let b = j.begin(change("b"), t(1)).unwrap();
    let ids = |v: Vec<ChangeRecord>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(j.unreported().unwrap()), [a.id, b.id]);
    let acked = j.mark_reported(a.id).unwrap();
    assert!(acked.reported);
    assert_eq!(acked.updated_at, t(0));
    assert_eq!(ids(j.unreported().unwrap()), [b.id]);
    j.mark_applying(a.id, t(2)).unwrap();
    assert_eq!(ids(j.unreported().unwrap()), [a.id, b.id]);
    apply_all(&j, b.id, t(3));
    assert_eq!(ids(j.unfinished().unwrap()), [a.id]);
}

#[test]
fn list_filters_by_role_time_and_state_in_id_order() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path());
    let a1 = j.begin(change("a"), t(0)).unwrap().id;
    let b1 = j.begin(change("b"), t(10)).unwrap().id;
    let a2 = j.begin(change("a"), t(20)).unwrap().id;
    let ab = j.begin(change("ab"), t(30)).unwrap().id;
    apply_all(&j, a1, t(40));
    j.mark_applying(a2, t(41)).unwrap();
    j.mark_failed(a2, "x", t(42)).unwrap();
    let list = |f: ChangeFilter| -> Vec<ChangeId> {
        j.list(&f).unwrap().into_iter().map(|r| r.id).collect()
    };
    assert_eq!(list(ChangeFilter::default()), [a1, b1, a2, ab]);
    let by_name = ChangeFilter {
        role_name: Some("a".into()),
        ..Default::default()
    };
    assert_eq!(list(by_name), [a1, a2]);
    let by_arn = ChangeFilter {
        role_arn: Some(arn("a")),
        ..Default::default()
    };
    assert_eq!(list(by_arn.clone()), [a1, a2]);
    let since = ChangeFilter {
        since: Some(t(10)),
        ..Default::default()
    };
    assert_eq!(list(since), [b1, a2, ab]);
    let just_after = ChangeFilter {
        since: Some(t(10) + chrono::Duration::milliseconds(1)),
        ..Default::default()
    };
    assert_eq!(list(just_after), [a2, ab]);
    let arn_since = ChangeFilter {
        since: Some(t(5)),
        ..by_arn
    };
    assert_eq!(list(arn_since), [a2]);
    let states = ChangeFilter {
        states: vec![ChangeState::Applied, ChangeState::Failed],
        ..Default::default()
    };
    assert_eq!(list(states), [a1, a2]);
    let none = ChangeFilter {
        role_arn: Some(arn("zzz")),
        ..Default::default()
    };
    assert_eq!(list(none), []);
    let all_past = ChangeFilter {
        since: Some(t(-1_000_000_000_000)),
        ..Default::default()
    };
    assert_eq!(list(all_past).len(), 4);
}

#[test]
fn ids_increase_in_begin_order_even_within_a_millisecond_or_when_time_steps_back() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(dir.path());
    let mut ids: Vec<ChangeId> = (0..50)
        .map(|_| j.begin(change("a"), t(100)).unwrap().id)
        .collect();
    ids.push(j.begin(change("a"), t(50)).unwrap().id);
    ids.push(j.begin(change("a"), t(200)).unwrap().id);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let strings: Vec<String> = ids.iter().map(ToString::to_string).collect();
    assert!(strings.windows(2).all(|w| w[0] < w[1]), "{strings:?}");
    assert_eq!(ids[50].timestamp_ms(), t(100).timestamp_millis() as u64);
    assert_eq!(ids[51].timestamp_ms(), t(200).timestamp_millis() as u64);
    let listed: Vec<ChangeId> = j
        .list(&ChangeFilter::default())
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(listed, ids);
}

#[test]
fn change_ids_parse_and_refuse_bad_input() {
    let id: ChangeId = "01arz3ndektsv4rrffq69g5fav".parse().unwrap();
    assert_eq!(id.to_string(), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
    assert_eq!(
        serde_json::to_string(&id).unwrap(),
        r#""01ARZ3NDEKTSV4RRFFQ69G5FAV""#
    );
    let back: ChangeId = serde_json::from_str(r#""01ARZ3NDEKTSV4RRFFQ69G5FAV""#).unwrap();
    assert_eq!(back, id);
    let err = |s: &str| s.parse::<ChangeId>().unwrap_err().to_string();
    assert_eq!(
        err("01ARZ"),
        r#"change id "01ARZ" is not a valid ulid: it has 5 characters, a ulid has 26"#
    );
    assert_eq!(
        err("01ARZ3NDEKTSV4RRFFQ69G5FA!"),
        r#"change id "01ARZ3NDEKTSV4RRFFQ69G5FA!" is not a valid ulid: invalid character"#
    );
    assert!(
        err("8ZZZZZZZZZZZZZZZZZZZZZZZZZ").ends_with("it is out of range or not in canonical form")
    );
    let bad_json = serde_json::from_str::<ChangeId>(r#""nope""#)
        .unwrap_err()
        .to_string();
    assert!(
        bad_json.contains(r#"change id "nope" is not a valid ulid"#),
        "{bad_json}"
    );
}

#[test]
fn the_journal_is_shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Journal>();
    let dir = tempfile::tempdir().unwrap();
    let j = std::sync::Arc::new(open(dir.path()));
    let handles: Vec<_> = (0..4)
        .map(|n| {
            let j = j.clone();
            std::thread::spawn(move || {
                (0..10)
                    .map(|_| j.begin(change(&format!("r{n}")), t(0)).unwrap().id)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut ids: Vec<ChangeId> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40);
    assert_eq!(j.unfinished().unwrap().len(), 40);
}
