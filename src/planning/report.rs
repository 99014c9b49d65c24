//! The printable plan of one commune, in Arabic (right to left) then French, each on its own
//! pages: the warnings, then every centre with its stations, their ranges "from … to …" (for
//! the door signs), their ballots, and the centre's cards to print.
//!
//! Its labels are here rather than in the Fluent catalogues: the report is an office document
//! printed from the command line, not a message to a voter or clerk, and it has no SMS budget
//! to check. Every value from the files is HTML-escaped.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::{Origin, Planned, Warning};
use crate::domain::{CentreCode, StationKind};

/// The labels of one language.
struct Labels {
    lang: &'static str,
    dir: &'static str,
    title: &'static str,
    warnings: &'static str,
    no_warnings: &'static str,
    centre: &'static str,
    rooms: &'static str,
    station: &'static str,
    kind: &'static str,
    mixed: &'static str,
    women: &'static str,
    new: &'static str,
    voters: &'static str,
    from: &'static str,
    to: &'static str,
    ballots: &'static str,
    stations: &'static str,
    cards: &'static str,
    total: &'static str,
}

const ARABIC: Labels = Labels {
    lang: "ar",
    dir: "rtl",
    title: "مخطط مكاتب التصويت",
    warnings: "تنبيهات",
    no_warnings: "لا توجد تنبيهات.",
    centre: "المركز",
    rooms: "القاعات",
    station: "المكتب",
    kind: "النوع",
    mixed: "مختلط",
    women: "نساء",
    new: "جديد",
    voters: "الناخبون",
    from: "من",
    to: "إلى",
    ballots: "أوراق التصويت",
    stations: "المكاتب",
    cards: "البطاقات المطلوب طبعها",
    total: "المجموع",
};

const FRENCH: Labels = Labels {
    lang: "fr",
    dir: "ltr",
    title: "Plan des bureaux de vote",
    warnings: "Avertissements",
    no_warnings: "Aucun avertissement.",
    centre: "Centre",
    rooms: "Salles",
    station: "Bureau",
    kind: "Type",
    mixed: "mixte",
    women: "femmes",
    new: "nouveau",
    voters: "Électeurs",
    from: "De",
    to: "À",
    ballots: "Bulletins",
    stations: "Bureaux",
    cards: "Cartes à imprimer",
    total: "Total",
};

/// `text` safe inside HTML elements and attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A warning in one language; `centre` gives a centre's name in that language.
fn warning_text(warning: &Warning, lang: &str, centre: impl Fn(&CentreCode) -> String) -> String {
    match (warning, lang) {
        (
            Warning::Rooms {
                centre: code,
                rooms,
                stations,
                ..
            },
            "ar",
        ) => format!(
            "المركز {} ({code}) يحتاج إلى {stations} مكاتب وليس فيه إلا {rooms} قاعات.",
            centre(code)
        ),
        (
            Warning::Rooms {
                centre: code,
                rooms,
                stations,
                ..
            },
            _,
        ) => format!(
            "Le centre {} ({code}) a besoin de {stations} bureaux mais n’a que {rooms} salles.",
            centre(code)
        ),
        (
            Warning::Small {
                centre: code,
                station,
                voters,
                sibling,
                sibling_voters,
                ..
            },
            "ar",
        ) => format!(
            "المكتب {station} في المركز {} ({code}) يضم {voters} ناخبا فقط، دون الحد الأدنى؛ يمكن دمجه مع المكتب {sibling} ({sibling_voters} ناخبا).",
            centre(code)
        ),
        (
            Warning::Small {
                centre: code,
                station,
                voters,
                sibling,
                sibling_voters,
                ..
            },
            _,
        ) => format!(
            "Le bureau {station} du centre {} ({code}) ne compte que {voters} électeurs, sous le minimum ; il pourrait fusionner avec le bureau {sibling} ({sibling_voters} électeurs).",
            centre(code)
        ),
        (
            Warning::Empty {
                centre: code,
                station,
                ..
            },
            "ar",
        ) => format!(
            "المكتب {station} في المركز {} ({code}) لا يضم أي ناخب: احذفه من الخريطة بعد استيراد القائمة.",
            centre(code)
        ),
        (
            Warning::Empty {
                centre: code,
                station,
                ..
            },
            _,
        ) => format!(
            "Le bureau {station} du centre {} ({code}) ne compte aucun électeur : retirez-le de la carte après l’import de la liste.",
            centre(code)
        ),
    }
}

const STYLE: &str = "body{font-family:'Noto Naskh Arabic','Amiri','DejaVu Sans',sans-serif;margin:1.5cm}\
section+section{page-break-before:always}\
table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}\
th,td{border:1px solid #444;padding:.25em .5em;text-align:start}\
td.n{text-align:end;font-variant-numeric:tabular-nums}\
h2{page-break-after:avoid}tr{page-break-inside:avoid}";

/// The report of commune `c` (an index into the plan's communes).
pub(super) fn render(planned: &Planned, c: usize, names: &HashMap<u32, String>) -> String {
    let commune = &planned.map.communes[c];
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"ar\">\n<head>\n<meta charset=\"utf-8\">\n<title>{} — {} / {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(commune.code.as_str()),
        escape(&commune.ar),
        escape(&commune.fr)
    );
    for labels in [&ARABIC, &FRENCH] {
        section(&mut html, planned, c, names, labels);
    }
    html.push_str("</body>\n</html>\n");
    html
}

fn section(
    html: &mut String,
    planned: &Planned,
    c: usize,
    names: &HashMap<u32, String>,
    labels: &Labels,
) {
    let commune = &planned.map.communes[c];
    let arabic = labels.lang == "ar";
    let commune_name = if arabic { &commune.ar } else { &commune.fr };
    let centre_name = |code: &CentreCode| {
        planned
            .map
            .centres
            .iter()
            .find(|centre| centre.commune == c && centre.code == *code)
            .map(|centre| centre.texts[usize::from(!arabic)].clone())
            .unwrap_or_default()
    };
    let _ = write!(
        html,
        "<section lang=\"{}\" dir=\"{}\">\n<h1>{} — {} ({})</h1>\n<h2>{}</h2>\n",
        labels.lang,
        labels.dir,
        labels.title,
        escape(commune_name),
        escape(commune.code.as_str()),
        labels.warnings
    );
    let warnings: Vec<&Warning> = planned
        .warnings
        .iter()
        .filter(|w| *w.commune() == commune.code)
        .collect();
    if warnings.is_empty() {
        let _ = writeln!(html, "<p>{}</p>", labels.no_warnings);
    } else {
        html.push_str("<ul class=\"warnings\">\n");
        for warning in warnings {
            let _ = writeln!(
                html,
                "<li>{}</li>",
                escape(&warning_text(warning, labels.lang, centre_name))
            );
        }
        html.push_str("</ul>\n");
    }
    for (at, centre) in planned.map.centres.iter().enumerate() {
        if centre.commune != c {
            continue;
        }
        let totals = planned.totals[at];
        let name = &centre.texts[usize::from(!arabic)];
        let _ = write!(
            html,
            "<h2>{} {} ({})</h2>\n<p>{}: {} · {}: {} · {}: {} · {}: {}{}</p>\n",
            labels.centre,
            escape(name),
            escape(centre.code.as_str()),
            labels.stations,
            totals.stations,
            labels.voters,
            totals.voters,
            labels.ballots,
            totals.ballots,
            labels.cards,
            totals.cards(),
            centre
                .rooms
                .map(|r| format!(" · {}: {r}", labels.rooms))
                .unwrap_or_default()
        );
        let _ = writeln!(
            html,
            "<table>\n<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            labels.station, labels.kind, labels.voters, labels.from, labels.to, labels.ballots
        );
        for station in planned.stations.iter().filter(|s| s.centre == at) {
            let kind = match station.kind {
                StationKind::Mixed => labels.mixed,
                StationKind::Women => labels.women,
            };
            let new = if station.origin == Origin::Existing {
                String::new()
            } else {
                format!(" ({})", labels.new)
            };
            let name = |entry: Option<u32>| {
                escape(entry.and_then(|e| names.get(&e)).map_or("", String::as_str))
            };
            let _ = writeln!(
                html,
                "<tr><td class=\"n\">{}{new}</td><td>{kind}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                station.number,
                station.voters,
                name(station.first),
                name(station.last),
                station.ballots
            );
        }
        let _ = writeln!(
            html,
            "<tr><th colspan=\"2\">{}</th><td class=\"n\">{}</td><td></td><td></td><td class=\"n\">{}</td></tr>\n</table>",
            labels.total, totals.voters, totals.ballots
        );
    }
    html.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        assert_eq!(
            escape("<b>\"Ali\" & 'Omar'</b>"),
            "&lt;b&gt;&quot;Ali&quot; &amp; &#39;Omar&#39;&lt;/b&gt;"
        );
    }
}
