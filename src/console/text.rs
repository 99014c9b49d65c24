//! The console's texts: the Fluent catalogues `locales/{ar,fr}/console.ftl`, compiled into the
//! binary like the voters' (see [`crate::i18n`]), and the language a request is shown in.
//!
//! The console has its own bundle rather than ids in [`crate::i18n::MessageId`]: those are the
//! voter's SMS texts, each checked against the segment budget; console texts are page labels
//! with no such budget, and a test here holds both languages to the same ids and every id a
//! template uses to exist.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};

use crate::domain::Locale;
use crate::i18n::CatalogError;

const AR: &str = include_str!("../../locales/ar/console.ftl");
const FR: &str = include_str!("../../locales/fr/console.ftl");

/// Both languages' console texts.
pub struct Texts {
    ar: FluentBundle<FluentResource>,
    fr: FluentBundle<FluentResource>,
}

impl std::fmt::Debug for Texts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Texts")
    }
}

fn bundle(locale: Locale, source: &str) -> Result<FluentBundle<FluentResource>, CatalogError> {
    let invalid = |detail: String| CatalogError::Invalid { locale, detail };
    let langid = locale.code().parse().map_err(|e| invalid(format!("{e}")))?;
    let mut bundle = FluentBundle::new_concurrent(vec![langid]);
    // Isolation marks are for mixing directions inside one text; the page sets `dir` itself.
    bundle.set_use_isolating(false);
    let resource = FluentResource::try_new(source.to_owned())
        .map_err(|(_, errors)| invalid(format!("console.ftl: {errors:?}")))?;
    bundle
        .add_resource(resource)
        .map_err(|errors| invalid(format!("console.ftl: {errors:?}")))?;
    Ok(bundle)
}

impl Texts {
    /// Parses the embedded catalogues.
    pub fn load() -> Result<Self, CatalogError> {
        Ok(Self {
            ar: bundle(Locale::Ar, AR)?,
            fr: bundle(Locale::Fr, FR)?,
        })
    }

    fn bundle(&self, locale: Locale) -> &FluentBundle<FluentResource> {
        match locale {
            Locale::Ar => &self.ar,
            Locale::Fr => &self.fr,
        }
    }

    /// A text with arguments; a missing id shows as itself (and is logged), which the
    /// catalogue test rules out.
    pub fn render(&self, locale: Locale, id: &str, args: Option<&FluentArgs>) -> String {
        let bundle = self.bundle(locale);
        let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
            tracing::error!(id, %locale, "console text missing");
            return id.to_owned();
        };
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::error!(id, %locale, ?errors, "console text rendered with errors");
        }
        text.into_owned()
    }

    /// An import or planning error in the user's language: its coded text with its values
    /// (`import-error-CODE`), or the English message when it has no code.
    pub fn line_error(&self, locale: Locale, error: &crate::roll::LineError) -> String {
        let Some(code) = error.code else {
            return error.message.clone();
        };
        let id = format!("import-error-{code}");
        if !self.has(locale, &id) {
            return error.message.clone();
        }
        let mut args = FluentArgs::new();
        for (name, value) in &error.args {
            args.set(*name, value.as_str());
        }
        self.render(locale, &id, Some(&args))
    }

    /// Whether a text exists in a language.
    pub fn has(&self, locale: Locale, id: &str) -> bool {
        self.bundle(locale).has_message(id)
    }
}

/// The ids of a catalogue source, in order.
pub fn ids(source: &str) -> Vec<String> {
    source
        .lines()
        .filter(|line| line.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
        .filter_map(|line| line.split_once('=').map(|(id, _)| id.trim().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_texts() {
        let mut ar = ids(AR);
        let mut fr = ids(FR);
        ar.sort();
        fr.sort();
        assert!(!ar.is_empty());
        assert_eq!(ar, fr);
        let texts = Texts::load().unwrap();
        for id in &ar {
            assert!(
                texts.has(Locale::Ar, id) && texts.has(Locale::Fr, id),
                "{id}"
            );
        }
    }

    #[test]
    fn every_import_error_code_has_its_text_in_both_languages() {
        let texts = Texts::load().unwrap();
        for code in crate::roll::LINE_ERROR_CODES {
            let id = format!("import-error-{code}");
            assert!(
                texts.has(Locale::Ar, &id) && texts.has(Locale::Fr, &id),
                "{id}"
            );
        }
        let error = crate::roll::LineError {
            line: Some(7),
            message: "birth_date: no such day in the calendar".to_owned(),
            code: Some("invalid-birth-date"),
            args: [
                ("column", "birth_date".to_owned()),
                ("value", "1990-13-45".to_owned()),
            ]
            .into_iter()
            .collect(),
        };
        let fr = texts.line_error(Locale::Fr, &error);
        let ar = texts.line_error(Locale::Ar, &error);
        assert!(fr.contains("1990-13-45") && fr.contains("date"), "{fr}");
        assert!(ar.contains("1990-13-45") && ar.contains("تاريخ"), "{ar}");
        let uncoded = crate::roll::LineError {
            line: None,
            message: "in English".to_owned(),
            ..Default::default()
        };
        assert_eq!(texts.line_error(Locale::Ar, &uncoded), "in English");
    }

    #[test]
    fn every_text_a_template_or_page_uses_exists() {
        let texts = Texts::load().unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut sources = Vec::new();
        for dir in ["templates/console", "src/console"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                // This file names the pattern in its comments.
                if path.is_dir() || path.ends_with("text.rs") {
                    continue;
                }
                sources.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
            }
        }
        let mut checked = 0;
        for (path, source) in sources {
            // `t("id")` in templates, `t("id")`/`tr.t("id")` in Rust.
            for (at, _) in source.match_indices("t(\"") {
                // `t(` itself, not the end of another name (`args.set("bytes", …)`).
                if source[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
                {
                    continue;
                }
                let piece = &source[at + 3..];
                let Some((id, _)) = piece.split_once('"') else {
                    continue;
                };
                if id.is_empty() || !id.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
                    continue;
                }
                checked += 1;
                assert!(
                    texts.has(Locale::Ar, id) && texts.has(Locale::Fr, id),
                    "{}: {id}",
                    path.display()
                );
            }
        }
        assert!(checked > 50, "only {checked} texts found");
    }
}
