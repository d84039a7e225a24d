//! Recurring incidents: tickets of one category whose voicemails say much the same thing within
//! a short time, so a lead sees "the third-floor printer again" as one incident, not five.
//!
//! Similarity is the Jaccard index of the transcripts' word sets after normalising (lower case,
//! accents folded, a crude plural fold, English and French stop words dropped). Cheap, needs no
//! model, and good enough for callers who describe the same fault in the same words; it will miss
//! paraphrases. Pure: the store hands in the window's tickets, nothing here does I/O.

use super::Category;
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

/// When two tickets count as the same incident.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecurrenceRule {
    /// At most this far apart (creation times).
    pub within: chrono::Duration,
    /// Word-set Jaccard index at least this (0 to 1).
    pub min_similarity: f64,
}

impl Default for RecurrenceRule {
    fn default() -> Self {
        RecurrenceRule {
            within: chrono::Duration::hours(24),
            min_similarity: 0.3,
        }
    }
}

/// A ticket as the clustering sees it.
#[derive(Debug, Clone)]
pub struct IncidentText<'a> {
    pub category: Category,
    pub created_at: DateTime<Utc>,
    pub transcript: &'a str,
}

/// Words that say nothing about the fault, in both menu languages. Written accent-folded, as
/// `normalised_words` compares them after folding.
const STOP_WORDS: &[&str] = &[
    // English
    "a", "about", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been",
    "but", "by", "can", "cannot", "could", "did", "do", "does", "doesn", "don", "for", "from",
    "get", "got", "had", "has", "have", "hello", "hi", "how", "i", "if", "in", "is", "it", "its",
    "just", "me", "my", "no", "not", "now", "of", "on", "or", "our", "please", "so", "some", "t",
    "that", "the", "their", "them", "then", "there", "they", "this", "to", "up", "us", "was", "we",
    "were", "what", "when", "which", "who", "will", "with", "would", "you", "your", "thank",
    "thanks", "call", "calling", "back", "still", "very", "m", "s", "ve", "ll",
    // French
    "au", "aux", "avec", "bonjour", "ce", "ces", "cet", "cette", "c", "ca", "d", "dans", "de",
    "des", "du", "elle", "en", "encore", "est", "et", "etre", "eu", "il", "ils", "j", "je", "l",
    "la", "le", "les", "leur", "lui", "ma", "mais", "me", "merci", "mes", "moi", "mon", "n", "ne",
    "nos", "notre", "nous", "on", "ou", "par", "pas", "plus", "pour", "qu", "que", "qui", "s",
    "sa", "se", "ses", "son", "sur", "ta", "te", "tes", "toi", "ton", "tu", "un", "une", "vos",
    "votre", "vous", "y", "a", "ai", "as", "avons", "avez", "ont", "suis", "sont", "fait", "tres",
    "toujours", "rappeler",
];

/// Folds the accents of French (and the common Latin-1 letters) so `problème` and `probleme`
/// are one word: transcripts are not consistent about them.
fn fold(c: char) -> &'static str {
    match c {
        'à' | 'á' | 'â' | 'ä' | 'ã' => "a",
        'é' | 'è' | 'ê' | 'ë' => "e",
        'î' | 'ï' | 'í' | 'ì' => "i",
        'ô' | 'ö' | 'ó' | 'ò' | 'õ' => "o",
        'ù' | 'û' | 'ü' | 'ú' => "u",
        'ç' => "c",
        'œ' => "oe",
        'æ' => "ae",
        'ÿ' => "y",
        _ => "",
    }
}

/// The words of a transcript that can tell one fault from another.
pub fn normalised_words(text: &str) -> BTreeSet<String> {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match fold(c) {
            "" if c.is_alphanumeric() => folded.push(c),
            "" => folded.push(' '),
            f => folded.push_str(f),
        }
    }
    folded
        .split_whitespace()
        .filter(|w| !STOP_WORDS.contains(w))
        .map(|w| {
            // "printers"/"printer", "imprimantes"/"imprimante"; not "access" or "bus".
            match w.strip_suffix('s') {
                Some(stem) if stem.chars().count() >= 3 && !stem.ends_with('s') => stem.to_string(),
                _ => w.to_string(),
            }
        })
        .collect()
}

/// |A ∩ B| / |A ∪ B|; two empty sets are not similar (silence is no incident).
pub fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let common = a.intersection(b).count();
    let union = a.len() + b.len() - common;
    if union == 0 {
        0.0
    } else {
        common as f64 / union as f64
    }
}

/// Groups tickets into recurring incidents: two tickets of the same category within
/// `rule.within` of each other and at least `rule.min_similarity` alike are linked, and linked
/// tickets (also through others: A~B, B~C) form one cluster. Returns the clusters of two or
/// more as indices into `tickets`, each in creation order, oldest cluster first.
pub fn recurring_clusters(tickets: &[IncidentText<'_>], rule: RecurrenceRule) -> Vec<Vec<usize>> {
    let words: Vec<BTreeSet<String>> = tickets
        .iter()
        .map(|t| normalised_words(t.transcript))
        .collect();
    let mut order: Vec<usize> = (0..tickets.len()).collect();
    order.sort_by_key(|&i| (tickets[i].created_at, i));
    let mut parent: Vec<usize> = (0..tickets.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    // Sorted by time, so each ticket is only compared with the ones shortly after it.
    for (n, &i) in order.iter().enumerate() {
        for &j in &order[n + 1..] {
            if tickets[j].created_at - tickets[i].created_at > rule.within {
                break;
            }
            if tickets[i].category == tickets[j].category
                && jaccard(&words[i], &words[j]) >= rule.min_similarity
            {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let mut clusters: Vec<Vec<usize>> = Vec::new();
    let mut cluster_of_root = std::collections::HashMap::new();
    for &i in &order {
        let r = root(&mut parent, i);
        let slot = *cluster_of_root.entry(r).or_insert_with(|| {
            clusters.push(Vec::new());
            clusters.len() - 1
        });
        clusters[slot].push(i);
    }
    clusters.retain(|c| c.len() >= 2);
    clusters
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_767_225_600 + hour * 3600, 0).unwrap()
    }

    fn ticket(category: Category, hour: i64, transcript: &str) -> IncidentText<'_> {
        IncidentText {
            category,
            created_at: at(hour),
            transcript,
        }
    }

    #[test]
    fn words_are_folded_and_stop_words_dropped_in_both_languages() {
        let w = normalised_words("L'imprimante du 3e étage ne marche plus, encore!");
        assert_eq!(
            w.into_iter().collect::<Vec<_>>(),
            ["3e", "etage", "imprimante", "marche"]
        );
        let w = normalised_words("My PRINTERS are jammed again. Access denied.");
        assert_eq!(
            w.into_iter().collect::<Vec<_>>(),
            ["access", "denied", "jammed", "printer"]
        );
    }

    #[test]
    fn jaccard_of_word_sets() {
        let a = normalised_words("printer third floor jammed");
        let b = normalised_words("printer third floor broken");
        assert_eq!(jaccard(&a, &b), 3.0 / 5.0);
        assert_eq!(jaccard(&a, &BTreeSet::new()), 0.0);
        assert_eq!(jaccard(&BTreeSet::new(), &BTreeSet::new()), 0.0);
    }

    #[test]
    fn similar_tickets_of_one_category_within_the_window_cluster() {
        let printer = "The printer on the third floor is jammed and shows error 50";
        let tickets = [
            ticket(Category::Hardware, 0, printer),
            ticket(
                Category::Hardware,
                2,
                "Third floor printer jammed again, error 50",
            ),
            ticket(Category::Hardware, 3, "I cannot log in to my email account"),
            // Same words, other category: not the same incident.
            ticket(Category::Network, 1, printer),
            // Same words, too late.
            ticket(Category::Hardware, 30, printer),
        ];
        assert_eq!(
            recurring_clusters(&tickets, RecurrenceRule::default()),
            vec![vec![0, 1]]
        );
    }

    #[test]
    fn clusters_chain_through_intermediate_tickets() {
        let tickets = [
            ticket(Category::Network, 0, "wifi down in building b"),
            ticket(Category::Network, 20, "wifi down building b meeting rooms"),
            // 40 h after the first, but 20 h after the second.
            ticket(Category::Network, 40, "meeting rooms wifi down building b"),
            ticket(Category::Network, 5, "le wifi ne marche pas au bâtiment B"),
        ];
        let clusters = recurring_clusters(&tickets, RecurrenceRule::default());
        assert_eq!(clusters, vec![vec![0, 3, 1, 2]]);
    }
}
