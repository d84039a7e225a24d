//! The interpreter against a scripted caller: what it plays, what it records on the ticket.

use hotline::call::{CallEnded, EndCause};
use hotline::ivr::{
    self, CallHost, IvrEffect, IvrEnd, PromptRef, RecordSpec, RecordingEnd, RecordingOutcome,
    RouteOutcome,
};
use hotline::media::dtmf::Digit;
use hotline::tickets::{
    CallEventKind, Category, Impact, Language, Priority, PriorityMatrix, TicketField, Urgency,
};
use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

/// What the scripted caller does when asked for input.
#[derive(Debug, Clone, Copy)]
enum Act {
    /// Press a key during the prompt (barge-in).
    Press(char),
    /// Let the prompt finish and the wait time out.
    Wait,
    /// Hang up.
    HangUp,
}

#[derive(Default)]
struct Script {
    acts: VecDeque<Act>,
    played: Vec<String>,
    /// Prompts the caller could not interrupt.
    unskippable: Vec<String>,
    /// How many times the interpreter waited for a key after a prompt had finished.
    waits: usize,
    fields: Vec<TicketField>,
    events: Vec<(CallEventKind, String)>,
    recorded: bool,
    impact: Option<Impact>,
    urgency: Option<Urgency>,
    /// The caller is a technician on their own phone.
    technician: bool,
}

impl Script {
    fn new(acts: &[Act]) -> Script {
        Script {
            acts: acts.iter().copied().collect(),
            ..Default::default()
        }
    }

    fn next_act(&mut self) -> Act {
        self.acts.pop_front().unwrap_or(Act::HangUp)
    }
}

impl CallHost for Script {
    async fn play(
        &mut self,
        prompts: Vec<PromptRef>,
        barge_in: bool,
    ) -> Result<Option<Digit>, CallEnded> {
        for p in &prompts {
            let name = match p {
                PromptRef::File { language, name } => format!("{language}/{name}"),
                PromptRef::Beep => "beep".into(),
            };
            if !barge_in {
                self.unskippable.push(name.clone());
            }
            self.played.push(name);
        }
        if !barge_in {
            return Ok(None);
        }
        match self.acts.front().copied() {
            Some(Act::Press(c)) => {
                self.acts.pop_front();
                Ok(Digit::from_char(c))
            }
            _ => Ok(None),
        }
    }

    async fn next_digit(&mut self, _timeout: Duration) -> Result<Option<Digit>, CallEnded> {
        self.waits += 1;
        match self.next_act() {
            Act::Press(c) => Ok(Digit::from_char(c)),
            Act::Wait => Ok(None),
            Act::HangUp => Err(CallEnded(EndCause::CallerHangup)),
        }
    }

    async fn record(&mut self, _spec: RecordSpec) -> Result<RecordingOutcome, CallEnded> {
        if matches!(self.acts.front(), Some(Act::HangUp)) {
            return Err(CallEnded(EndCause::CallerHangup));
        }
        self.recorded = true;
        Ok(RecordingOutcome {
            path: "/tmp/v.wav".into(),
            duration: Duration::from_secs(3),
            end: RecordingEnd::Digit,
            has_speech: true,
        })
    }

    async fn effect(&mut self, effect: IvrEffect) {
        match effect {
            IvrEffect::Field(f) => {
                match f {
                    TicketField::Impact(i) => self.impact = Some(i),
                    TicketField::Urgency(u) => self.urgency = Some(u),
                    _ => {}
                }
                self.fields.push(f)
            }
            IvrEffect::Event { kind, detail } => self.events.push((kind, detail)),
            IvrEffect::Collected { .. } => {}
        }
    }

    async fn ticket_number(&mut self) -> u32 {
        42
    }

    async fn response_estimate(&mut self) -> Duration {
        Duration::from_secs(90 * 60)
    }

    async fn priority(&mut self) -> Option<Priority> {
        Some(PriorityMatrix::default().priority(self.impact?, self.urgency?))
    }

    async fn route(&mut self, _spec: &hotline::ivr::RouteSpec) -> Result<RouteOutcome, CallEnded> {
        Ok(RouteOutcome::NobodyAvailable)
    }

    fn caller_is_technician(&self) -> bool {
        self.technician
    }
}

fn bundled() -> hotline::ivr::Dialplan {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    ivr::check_file(&root.join("dialplans/hotline.toml"), &root.join("prompts")).unwrap()
}

#[tokio::test]
async fn happy_path_sets_every_field_in_order_and_speaks_ticket_and_estimate() {
    let plan = bundled();
    // French, software, individual, degraded; a key during the welcome skips it.
    let mut host = Script::new(&[
        Act::Press('#'),
        Act::Press('2'),
        Act::Press('2'),
        Act::Press('3'),
        Act::Press('2'),
    ]);
    host.acts.push_back(Act::Wait);
    let result = ivr::run(&plan, &mut host).await;
    assert_eq!(result.end, IvrEnd::Completed);
    assert!(result.recorded);
    assert_eq!(
        host.fields,
        vec![
            TicketField::Language(Language::French),
            TicketField::Category(Category::Software),
            TicketField::Impact(Impact::Individual),
            TicketField::Urgency(Urgency::Degraded),
        ]
    );
    let tail: Vec<&str> = host
        .played
        .iter()
        .map(String::as_str)
        .skip_while(|p| *p != "fr/your_ticket_number_is")
        .collect();
    assert_eq!(
        tail,
        [
            "fr/your_ticket_number_is",
            "fr/n4",
            "fr/n2",
            "fr/estimated_response",
            "fr/one_hour",
            "fr/and",
            "fr/n30",
            "fr/minutes",
            "fr/goodbye"
        ]
    );
    assert!(host.played.contains(&"beep".to_string()));
    assert!(result.routed.is_none(), "P4 is not routed");
}

#[tokio::test]
async fn urgent_call_is_routed() {
    let plan = bundled();
    let mut host = Script::new(&[
        Act::Press('#'),
        Act::Press('1'),
        Act::Press('3'),
        Act::Press('1'),
        Act::Press('1'),
    ]);
    let result = ivr::run(&plan, &mut host).await;
    assert_eq!(
        result.routed,
        Some(RouteOutcome::NobodyAvailable),
        "P1 goes to the on-call technician"
    );
    assert!(result.path.contains(&"route".to_string()));
    assert_eq!(result.end, IvrEnd::Completed);
}

#[tokio::test]
async fn timeouts_replay_the_menu_then_fall_back() {
    let plan = bundled();
    // Nothing pressed anywhere: every menu times out three times and falls back.
    let mut host = Script::new(&[Act::Press('#')]);
    host.acts.extend(std::iter::repeat_n(Act::Wait, 12));
    let result = ivr::run(&plan, &mut host).await;
    let timeouts = host
        .events
        .iter()
        .filter(|(k, d)| *k == CallEventKind::Timeout && d == "language")
        .count();
    assert_eq!(timeouts, 3, "first try + 2 retries");
    let no_input = host
        .played
        .iter()
        .filter(|p| p.as_str() == "en/no_input")
        .count();
    assert!(no_input >= 2);
    assert!(host
        .events
        .iter()
        .any(|(k, d)| *k == CallEventKind::RetriesExhausted && d == "language → category"));
    // The fallbacks fill the ticket with sensible defaults.
    assert!(host
        .fields
        .contains(&TicketField::Category(Category::Other)));
    assert!(host
        .fields
        .contains(&TicketField::Impact(Impact::Individual)));
    assert_eq!(result.end, IvrEnd::Completed);
}

#[tokio::test]
async fn invalid_key_then_valid_key_is_accepted() {
    let plan = bundled();
    let mut host = Script::new(&[
        Act::Press('#'),
        Act::Press('1'),
        Act::Press('9'),
        Act::Press('3'),
    ]);
    let _ = ivr::run(&plan, &mut host).await;
    assert!(host
        .events
        .iter()
        .any(|(k, d)| *k == CallEventKind::InvalidInput && d == "9 at category"));
    assert!(host.played.contains(&"en/invalid_choice".to_string()));
    assert_eq!(host.fields[1], TicketField::Category(Category::Network));
}

#[tokio::test]
async fn a_key_during_a_menu_prompt_answers_it_without_waiting() {
    let plan = bundled();
    // Every key is pressed while its prompt plays: the interpreter never waits for one.
    let mut host = Script::new(&[
        Act::Press('#'),
        Act::Press('1'),
        Act::Press('4'),
        Act::Press('3'),
        Act::Press('3'),
    ]);
    let result = ivr::run(&plan, &mut host).await;
    assert_eq!(result.end, IvrEnd::Completed);
    assert_eq!(host.waits, 0, "no wait after an interrupted prompt");
    // Each menu prompt is heard once, then the next menu's: the key was taken as the answer.
    let menus: Vec<&str> = host
        .played
        .iter()
        .map(String::as_str)
        .filter(|p| p.starts_with("en/choose_"))
        .collect();
    assert_eq!(
        menus,
        [
            "en/choose_language",
            "en/choose_category",
            "en/choose_impact",
            "en/choose_urgency"
        ]
    );
    assert_eq!(host.fields[1], TicketField::Category(Category::Account));
    // The welcome was skipped with `#`; that key answered nothing.
    assert!(!host
        .events
        .iter()
        .any(|(k, _)| *k == CallEventKind::InvalidInput));
    // What the caller must hear in full cannot be cut short: the ticket number and estimate.
    assert!(host
        .unskippable
        .iter()
        .any(|p| p == "en/your_ticket_number_is"));
    assert!(host
        .unskippable
        .iter()
        .any(|p| p == "en/estimated_response"));
    assert!(!host.unskippable.iter().any(|p| p.starts_with("en/choose_")));
}

#[tokio::test]
async fn a_key_pressed_during_the_welcome_answers_the_language_menu() {
    let plan = bundled();
    // 1 during the welcome, then 2 (software) during the category prompt, then hang up.
    let mut host = Script::new(&[Act::Press('1'), Act::Press('2'), Act::HangUp]);
    let result = ivr::run(&plan, &mut host).await;
    assert_eq!(
        host.fields[..2],
        [
            TicketField::Language(Language::English),
            TicketField::Category(Category::Software)
        ],
        "the 1 chose English, the 2 the category"
    );
    assert!(
        !host.played.contains(&"en/choose_language".to_string()),
        "the language menu was answered before its prompt: {:?}",
        host.played
    );
    assert_eq!(
        host.waits, 1,
        "no wait at the language menu: only at impact, where the caller hung up"
    );
    let digits: Vec<&str> = host
        .events
        .iter()
        .filter(|(k, _)| *k == CallEventKind::Digit)
        .map(|(_, d)| d.as_str())
        .collect();
    assert_eq!(digits, ["1", "2"], "each key counted once");
    assert!(matches!(result.end, IvrEnd::Ended { ref node, .. } if node == "impact"));
}

#[tokio::test]
async fn a_key_that_answers_nothing_next_only_skips_the_prompt() {
    let plan = bundled();
    // # skips the welcome but means nothing to the language menu, which then plays and
    // takes the 2.
    let mut host = Script::new(&[Act::Press('#'), Act::Press('2'), Act::HangUp]);
    ivr::run(&plan, &mut host).await;
    assert!(host.played.contains(&"en/choose_language".to_string()));
    assert_eq!(host.fields[0], TicketField::Language(Language::French));
    assert!(host
        .events
        .iter()
        .any(|(k, d)| *k == CallEventKind::Digit && d == "# (skipped prompt)"));
    assert!(!host
        .events
        .iter()
        .any(|(k, _)| *k == CallEventKind::InvalidInput));
}

#[tokio::test]
async fn hang_up_mid_menu_is_abandoned_at_that_node() {
    let plan = bundled();
    let mut host = Script::new(&[Act::Press('#'), Act::Press('1'), Act::HangUp]);
    let result = ivr::run(&plan, &mut host).await;
    assert_eq!(
        result.end,
        IvrEnd::Ended {
            node: "category".into(),
            cause: CallEnded(EndCause::CallerHangup)
        }
    );
    assert!(!result.recorded);
}

#[tokio::test]
async fn collect_node_gathers_digits_until_the_terminator() {
    let text = r##"
[dialplan]
start = "asset"
languages = ["en"]
[defaults]
invalid_prompt = "invalid_choice"
timeout_prompt = "no_input"
[nodes.asset]
kind = "collect"
prompts = ["welcome"]
variable = "asset"
min_digits = 3
max_digits = 6
terminator = "#"
next = "bye"
fallback = "bye"
[nodes.bye]
kind = "hangup"
"##;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let plan = ivr::check_str(text, Path::new("t.toml"), &root.join("prompts")).unwrap();
    // Too short first ("12#"), then a good number.
    let mut host = Script::new(&[
        Act::Press('1'),
        Act::Press('2'),
        Act::Press('#'),
        Act::Press('4'),
        Act::Press('5'),
        Act::Press('6'),
        Act::Press('7'),
        Act::Press('#'),
    ]);
    let result = ivr::run(&plan, &mut host).await;
    assert_eq!(result.end, IvrEnd::Completed);
    assert!(host
        .events
        .iter()
        .any(|(k, d)| *k == CallEventKind::InvalidInput && d == "12 at asset"));
    assert!(host
        .events
        .iter()
        .any(|(k, d)| *k == CallEventKind::Collected && d == "asset=4567"));
}

#[tokio::test]
async fn a_branch_on_caller_tells_a_technician_from_a_caller() {
    let text = r##"
[dialplan]
start = "who"
languages = ["en"]
[nodes.who]
kind = "branch"
on = "caller"
cases = { technician = "staff", caller = "public" }
default = "public"
[nodes.staff]
kind = "hangup"
prompts = ["goodbye"]
[nodes.public]
kind = "hangup"
prompts = ["welcome"]
"##;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let plan = ivr::check_str(text, Path::new("t.toml"), &root.join("prompts")).unwrap();
    let mut caller = Script::new(&[]);
    let result = ivr::run(&plan, &mut caller).await;
    assert_eq!(result.path, ["who", "public"]);
    let mut technician = Script {
        technician: true,
        ..Script::new(&[])
    };
    let result = ivr::run(&plan, &mut technician).await;
    assert_eq!(result.path, ["who", "staff"]);

    // A value the field cannot take is refused by the checker, located.
    let wrong = text.replace("technician = \"staff\"", "tech = \"staff\"");
    let report = ivr::check_str(&wrong, Path::new("t.toml"), &root.join("prompts")).unwrap_err();
    assert!(report.to_string().contains("tech"), "{report}");
}
