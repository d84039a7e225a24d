//! One test per class of dialplan mistake, each asserting the exact report.

use hotline::ivr::check_str;
use std::path::{Path, PathBuf};

fn prompts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts")
}

const HEADER: &str = r#"[dialplan]
start = "welcome"
languages = ["en", "fr"]

[defaults]
invalid_prompt = "invalid_choice"
timeout_prompt = "no_input"
"#;

/// The report for `nodes` appended to the standard header.
fn report(nodes: &str) -> String {
    let text = format!("{HEADER}{nodes}");
    match check_str(&text, Path::new("plan.toml"), &prompts()) {
        Ok(_) => "ok".into(),
        Err(r) => r.to_string(),
    }
}

const END: &str = "\n[nodes.bye]\nkind = \"hangup\"\nprompts = [\"goodbye\"]\n";

#[test]
fn a_valid_small_plan_passes() {
    let plan = "\n[nodes.welcome]\nkind = \"play\"\nprompts = [\"welcome\"]\nnext = \"bye\"\n";
    assert_eq!(report(&format!("{plan}{END}")), "ok");
}

#[test]
fn toml_syntax_error_has_line_and_column() {
    let r = report("\n[nodes.welcome\nkind = \"play\"\n");
    assert_eq!(r, "plan.toml:9:15: unclosed table, expected `]`");
}

#[test]
fn unknown_node_kind_is_named() {
    let r = report("\n[nodes.welcome]\nkind = \"plai\"\nprompts = [\"welcome\"]\nnext = \"bye\"\n");
    assert_eq!(
        r,
        "plan.toml:10:8: node `welcome`: unknown kind `plai`, expected one of `play`, `menu`, `collect`, `record`, `say`, `branch`, `set`, `route`, `goto`, `hangup`"
    );
}

#[test]
fn unknown_field_is_named_at_its_key() {
    let plan = "\n[nodes.welcome]\nkind = \"play\"\nprompts = [\"welcome\"]\nnext = \"bye\"\nnxet = \"bye\"\n";
    assert_eq!(
        report(&format!("{plan}{END}")),
        "plan.toml:13:1: node `welcome`: unknown field `nxet`, expected one of `kind`, `prompts`, `next`, `barge_in`"
    );
}

#[test]
fn unknown_field_in_a_menu_option_is_named() {
    let plan = "\n[nodes.welcome]\nkind = \"menu\"\nprompts = [\"choose_category\"]\noptions.\"1\" = { nxet = \"bye\" }\nfallback = \"bye\"\n";
    assert_eq!(
        report(&format!("{plan}{END}")),
        "plan.toml:12:17: node `welcome`: option 1: unknown field `nxet`, expected one of `next`, `language`, `set`"
    );
}

#[test]
fn missing_field_names_the_node() {
    let plan = "\n[nodes.welcome]\nkind = \"menu\"\nprompts = [\"choose_category\"]\noptions.\"1\" = { next = \"bye\" }\n";
    assert_eq!(
        report(&format!("{plan}{END}")),
        "plan.toml:9:1: node `welcome`: missing field `fallback`"
    );
}

#[test]
fn wrong_value_type_points_at_the_value() {
    let plan = "\n[nodes.welcome]\nkind = \"menu\"\nprompts = [\"choose_category\"]\noptions.\"1\" = { next = \"bye\" }\nfallback = \"bye\"\ntimeout_secs = \"ten\"\n";
    assert_eq!(
        report(&format!("{plan}{END}")),
        "plan.toml:14:16: node `welcome`: field `timeout_secs`: invalid type: string \"ten\", expected u64"
    );
}

#[test]
fn out_of_range_timeout_is_reported() {
    let plan = "\n[nodes.welcome]\nkind = \"menu\"\nprompts = [\"choose_category\"]\noptions.\"1\" = { next = \"bye\" }\nfallback = \"bye\"\ntimeout_secs = 0\n";
    assert_eq!(
        report(&format!("{plan}{END}")),
        "plan.toml:14:16: node `welcome`: timeout_secs must be 1 to 60, not 0"
    );
}

#[test]
fn unknown_node_reference_points_at_the_reference() {
    let plan = "\n[nodes.welcome]\nkind = \"play\"\nprompts = [\"welcome\"]\nnext = \"byee\"\n";
    // Graph checks (reachability) wait until every reference resolves.
    assert_eq!(
        report(&format!("{plan}{END}")),
        "plan.toml:12:8: node `welcome`: next refers to unknown node `byee`"
    );
}

#[test]
fn missing_start_node_is_reported() {
    let r = report(END);
    assert!(
        r.contains("plan.toml:2:9: start node `welcome` does not exist"),
        "{r}"
    );
}

#[test]
fn missing_prompt_is_reported_per_language() {
    let plan =
        "\n[nodes.welcome]\nkind = \"play\"\nprompts = [\"no_such_prompt\"]\nnext = \"bye\"\n";
    let r = report(&format!("{plan}{END}"));
    let p = prompts();
    assert_eq!(
        r,
        format!(
            "plan.toml:11:12: node `welcome`: prompt `no_such_prompt` has no `en` recording ({}/en/no_such_prompt.wav is missing)\n\
             plan.toml:11:12: node `welcome`: prompt `no_such_prompt` has no `fr` recording ({}/fr/no_such_prompt.wav is missing)",
            p.display(),
            p.display()
        )
    );
}

#[test]
fn unreachable_node_is_reported() {
    let plan = "\n[nodes.welcome]\nkind = \"play\"\nprompts = [\"welcome\"]\nnext = \"bye\"\n\n[nodes.orphan]\nkind = \"goto\"\nnext = \"bye\"\n";
    assert_eq!(
        report(&format!("{plan}{END}")),
        "plan.toml:14:1: node `orphan` is unreachable from the start node `welcome`"
    );
}

#[test]
fn menu_without_options_is_reported() {
    let plan = "\n[nodes.welcome]\nkind = \"menu\"\nprompts = [\"choose_category\"]\noptions = {}\nfallback = \"bye\"\n";
    assert_eq!(
        report(&format!("{plan}{END}")),
        "plan.toml:9:1: node `welcome`: menu has no options, so the caller has no way out"
    );
}

#[test]
fn menu_key_must_be_a_single_key() {
    let plan = "\n[nodes.welcome]\nkind = \"menu\"\nprompts = [\"choose_category\"]\noptions.\"12\" = { next = \"bye\" }\nfallback = \"bye\"\n";
    assert_eq!(
        report(&format!("{plan}{END}")),
        "plan.toml:12:9: node `welcome`: option `12` is not a single key (0-9, *, #, A-D)"
    );
}

#[test]
fn menu_without_invalid_prompt_is_reported() {
    let text = "[dialplan]\nstart = \"m\"\nlanguages = [\"en\"]\n\n[nodes.m]\nkind = \"menu\"\nprompts = [\"choose_category\"]\noptions.\"1\" = { next = \"bye\" }\nfallback = \"bye\"\n\n[nodes.bye]\nkind = \"hangup\"\n";
    let r = check_str(text, Path::new("plan.toml"), &prompts())
        .unwrap_err()
        .to_string();
    assert_eq!(
        r,
        "plan.toml:5:1: node `m`: no invalid_prompt (set one here or in [defaults])\n\
         plan.toml:5:1: node `m`: no timeout_prompt (set one here or in [defaults])"
    );
}

#[test]
fn invalid_ticket_value_is_named_at_the_value() {
    let plan = "\n[nodes.welcome]\nkind = \"menu\"\nprompts = [\"choose_category\"]\noptions.\"1\" = { next = \"bye\", set = { category = \"printer\" } }\nfallback = \"bye\"\nfallback_set = { urgency = \"now\" }\n";
    assert_eq!(
        report(&format!("{plan}{END}")),
        "plan.toml:12:50: node `welcome`: option 1: unknown category `printer` (expected one of: hardware software network account other)\n\
         plan.toml:14:28: node `welcome`: field `fallback_set`: unknown urgency `now` (expected one of: blocked degraded request)"
    );
}

#[test]
fn language_the_plan_does_not_offer_is_reported() {
    let text = "[dialplan]\nstart = \"m\"\nlanguages = [\"en\"]\ndefault_language = \"fr\"\n[defaults]\ninvalid_prompt = \"invalid_choice\"\ntimeout_prompt = \"no_input\"\n[nodes.m]\nkind = \"menu\"\nprompts = [\"choose_language\"]\noptions.\"2\" = { next = \"bye\", language = \"fr\" }\nfallback = \"bye\"\n[nodes.bye]\nkind = \"hangup\"\n";
    let r = check_str(text, Path::new("plan.toml"), &prompts())
        .unwrap_err()
        .to_string();
    assert_eq!(
        r,
        "plan.toml:4:20: default language `fr` is not in `dialplan.languages`\n\
         plan.toml:11:42: node `m`: option 2 chooses language `fr`, which the dialplan does not offer"
    );
}

#[test]
fn unknown_language_is_reported_and_the_others_still_checked() {
    let text = "[dialplan]\nstart = \"w\"\nlanguages = [\"en\", \"de\"]\n[nodes.w]\nkind = \"hangup\"\nprompts = [\"no_such_prompt\"]\n";
    let r = check_str(text, Path::new("plan.toml"), &prompts())
        .unwrap_err()
        .to_string();
    assert_eq!(
        r,
        format!(
            "plan.toml:3:20: field `languages`: unknown language `de` (expected one of: en fr)\n\
             plan.toml:6:12: node `w`: prompt `no_such_prompt` has no `en` recording ({}/en/no_such_prompt.wav is missing)",
            prompts().display()
        )
    );
}

#[test]
fn every_problem_is_reported_at_once_in_file_order() {
    // Four independent mistakes in three nodes: none hides another.
    let plan = "\n[nodes.welcome]\nkind = \"play\"\nprompts = [\"welcome\"]\nnxet = \"bye\"\nnext = \"menu\"\n\n[nodes.menu]\nkind = \"menu\"\nprompts = [\"choose_category\"]\noptions.\"1\" = { next = \"bye\", set = { category = \"printer\" } }\noptions.\"2\" = { next = \"byee\" }\nfallback = \"bye\"\n\n[nodes.other]\nkind = \"plai\"\n";
    assert_eq!(
        report(&format!("{plan}{END}")),
        "plan.toml:12:1: node `welcome`: unknown field `nxet`, expected one of `kind`, `prompts`, `next`, `barge_in`\n\
         plan.toml:18:50: node `menu`: option 1: unknown category `printer` (expected one of: hardware software network account other)\n\
         plan.toml:19:24: node `menu`: option 2 refers to unknown node `byee`\n\
         plan.toml:23:8: node `other`: unknown kind `plai`, expected one of `play`, `menu`, `collect`, `record`, `say`, `branch`, `set`, `route`, `goto`, `hangup`"
    );
}

#[test]
fn graph_problems_are_reported_alongside_missing_prompts() {
    let plan = "\n[nodes.welcome]\nkind = \"play\"\nprompts = [\"no_such_prompt\"]\nnext = \"bye\"\n\n[nodes.orphan]\nkind = \"goto\"\nnext = \"bye\"\n";
    let p = prompts();
    assert_eq!(
        report(&format!("{plan}{END}")),
        format!(
            "plan.toml:11:12: node `welcome`: prompt `no_such_prompt` has no `en` recording ({}/en/no_such_prompt.wav is missing)\n\
             plan.toml:11:12: node `welcome`: prompt `no_such_prompt` has no `fr` recording ({}/fr/no_such_prompt.wav is missing)\n\
             plan.toml:14:1: node `orphan` is unreachable from the start node `welcome`",
            p.display(),
            p.display()
        )
    );
}

#[test]
fn syntax_errors_on_several_lines_are_all_reported() {
    let text = "[dialplan]\nstart = \"a\"\nlanguages = [\"en\"]\n[nodes.a]\nkind = \"goto\"\nnext = = \"b\"\n[nodes.b]\nkind = hangup\n";
    let r = check_str(text, Path::new("plan.toml"), &prompts())
        .unwrap_err()
        .to_string();
    assert_eq!(
        r,
        "plan.toml:6:8: extra `=`, expected nothing\n\
         plan.toml:8:8: string values must be quoted, expected literal string"
    );
}

#[test]
fn missing_tables_are_reported() {
    let r = check_str(
        "[dialplan]\nstart = \"a\"\n",
        Path::new("plan.toml"),
        &prompts(),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        r,
        "plan.toml:1:1: missing field `languages`\nplan.toml: missing table `[nodes]`"
    );
}

#[test]
fn say_node_needs_its_number_prompts_in_every_language() {
    let dir = tempfile::tempdir().unwrap();
    for lang in ["en", "fr"] {
        std::fs::create_dir_all(dir.path().join(lang)).unwrap();
        for entry in std::fs::read_dir(prompts().join(lang)).unwrap() {
            let entry = entry.unwrap();
            // French lacks "n7": a French caller would hear a gap in "4 7".
            if lang == "fr" && entry.file_name() == "n7.wav" {
                continue;
            }
            std::fs::copy(entry.path(), dir.path().join(lang).join(entry.file_name())).unwrap();
        }
    }
    let text = format!("{HEADER}\n[nodes.welcome]\nkind = \"say\"\nwhat = [\"ticket_number\"]\nnext = \"bye\"\n{END}");
    let r = check_str(&text, Path::new("plan.toml"), dir.path())
        .unwrap_err()
        .to_string();
    assert_eq!(
        r,
        format!(
            "plan.toml:11:8: node `welcome`: prompt `n7` has no `fr` recording ({}/fr/n7.wav is missing)",
            dir.path().display()
        )
    );
}

#[test]
fn collect_digit_limits_are_checked() {
    let plan = "\n[nodes.welcome]\nkind = \"collect\"\nprompts = [\"welcome\"]\nvariable = \"asset\"\nmin_digits = 6\nmax_digits = 4\nterminator = \"##\"\nnext = \"bye\"\nfallback = \"bye\"\n";
    assert_eq!(
        report(&format!("{plan}{END}")),
        "plan.toml:14:14: node `welcome`: need 1 <= min_digits <= max_digits <= 32, got 6 and 4\n\
         plan.toml:15:14: node `welcome`: terminator `##` is not a single key (0-9, *, #, A-D)"
    );
}

#[test]
fn loop_without_input_is_reported() {
    let plan = "\n[nodes.welcome]\nkind = \"play\"\nprompts = [\"welcome\"]\nnext = \"again\"\n\n[nodes.again]\nkind = \"goto\"\nnext = \"welcome\"\n";
    let r = report(plan);
    assert!(r.contains("plan.toml:14:1: nodes `again` → `welcome` → `again` loop without ever waiting for the caller"), "{r}");
    assert!(
        r.contains("node `welcome` can never reach a hangup node"),
        "{r}"
    );
}

#[test]
fn branch_value_must_exist() {
    let plan = "\n[nodes.welcome]\nkind = \"branch\"\non = \"priority\"\ncases = { P9 = \"bye\" }\ndefault = \"bye\"\n";
    assert_eq!(
        report(&format!("{plan}{END}")),
        "plan.toml:12:11: node `welcome`: `P9` is not a priority value"
    );
}

#[test]
fn unreadable_file_is_reported() {
    let r = hotline::ivr::check_file(Path::new("/nonexistent/plan.toml"), &prompts())
        .unwrap_err()
        .to_string();
    assert_eq!(
        r,
        "/nonexistent/plan.toml: cannot read the dialplan: No such file or directory (os error 2)"
    );
}
