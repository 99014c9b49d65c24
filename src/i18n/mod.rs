//! Everything a voter reads: the Fluent catalogues under `locales/{ar,fr}`, compiled into the
//! binary, the CLDR plural rules they use, and SMS segment counting.

pub mod plural;
pub mod sms;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use thiserror::Error;

use crate::domain::Locale;

/// The catalogue files of each language, one per area; every id must be in both languages.
const AR_FILES: &[&str] = &[
    include_str!("../../locales/ar/main.ftl"),
    include_str!("../../locales/ar/notices.ftl"),
    include_str!("../../locales/ar/sms.ftl"),
    include_str!("../../locales/ar/telegram.ftl"),
    include_str!("../../locales/ar/reports.ftl"),
    include_str!("../../locales/ar/duty.ftl"),
];
const FR_FILES: &[&str] = &[
    include_str!("../../locales/fr/main.ftl"),
    include_str!("../../locales/fr/notices.ftl"),
    include_str!("../../locales/fr/sms.ftl"),
    include_str!("../../locales/fr/telegram.ftl"),
    include_str!("../../locales/fr/reports.ftl"),
    include_str!("../../locales/fr/duty.ftl"),
];

macro_rules! message_ids {
    ($($(#[$doc:meta])* $variant:ident = $id:literal,)*) => {
        /// The stable id of every voter-facing message.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum MessageId {
            $($(#[$doc])* $variant,)*
        }

        impl MessageId {
            /// Every message, for tests that render the whole catalogue.
            pub const ALL: &'static [MessageId] = &[$(MessageId::$variant,)*];

            /// The id in the `.ftl` files.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(MessageId::$variant => $id,)*
                }
            }
        }
    };
}

message_ids! {
    /// Centre, address and station (`$centre`, `$address`, `$station`, `$kind`).
    LookupFound = "lookup-found",
    /// Unknown NIN or wrong verification: one text for both, by design.
    LookupNotFound = "lookup-not-found",
    AskBirthDate = "ask-birth-date",
    AskBirthYear = "ask-birth-year",
    /// A number that is not 18 digits long (`$count`).
    NinWrongLength = "nin-wrong-length",
    DateInvalid = "date-invalid",
    /// A two-digit year that fits a voter in two centuries: the full year is asked.
    DateYearAmbiguous = "date-year-ambiguous",
    /// Two different NINs in one message.
    NinOneAtATime = "nin-one-at-a-time",
    YearInvalid = "year-invalid",
    /// A birth date arrived with no NIN before it.
    NinFirst = "nin-first",
    /// How to use the service (`$verify`: date, year or none).
    Help = "help",
    /// A message that was not understood (`$verify`).
    Hint = "hint",
    LanguageSet = "language-set",
    /// Too many lookups from one sender (`$minutes` until the next window).
    RateLimitedSender = "rate-limited-sender",
    /// Too many failed verifications for one NIN today.
    RateLimitedNin = "rate-limited-nin",
    ServiceUnavailable = "service-unavailable",
    /// Confirms STOP: no more notices.
    NoticesStopped = "notices-stopped",
    /// Confirms START: notices again.
    NoticesStarted = "notices-started",
    /// A subscriber's voter has a new centre or station (`$centre`, `$address`, `$station`,
    /// `$kind`).
    NoticeStationChanged = "notice-station-changed",
    /// A subscriber's voter is no longer on the roll of their commune, and whom to ask
    /// (`$nin` masked, `$commune`).
    NoticeRemoved = "notice-removed",
    /// SMS: a picture (MMS) without a NIN in its text; the service reads text only.
    SmsMediaUnsupported = "sms-media-unsupported",
    /// Telegram's /start, above the language buttons (`$verify`).
    TelegramGreeting = "telegram-greeting",
    /// Telegram's /language, above the language buttons; the same bilingual text in both.
    TelegramChooseLanguage = "telegram-choose-language",
    /// A photo, sticker, voice note or location instead of text (`$verify`).
    TelegramNonText = "telegram-non-text",
    /// A command addressed to the bot in a group: write in private instead.
    TelegramGroupHint = "telegram-group-hint",
    /// Confirms the "notify me" button.
    TelegramSubscribed = "telegram-subscribed",
    /// A "notify me" button pressed after its offer expired.
    TelegramOfferExpired = "telegram-offer-expired",
    /// Label of the "notify me about changes to my station" button.
    ButtonSubscribe = "button-subscribe",
    /// Label of the Arabic language button (in Arabic, whatever the reply's language).
    ButtonArabic = "button-arabic",
    /// Label of the French language button (in French, whatever the reply's language).
    ButtonFrench = "button-french",
    /// Telegram command menu: /start.
    TelegramCommandStart = "telegram-command-start",
    /// Telegram command menu: /help.
    TelegramCommandHelp = "telegram-command-help",
    /// Telegram command menu: /language.
    TelegramCommandLanguage = "telegram-command-language",
    /// Telegram command menu: /stop.
    TelegramCommandStop = "telegram-command-stop",
    /// Self-report: the birth date, when the lookup did not carry a full one.
    ReportAskBirthDate = "report-ask-birth-date",
    ReportAskCommune = "report-ask-commune",
    ReportCommuneUnknown = "report-commune-unknown",
    ReportCommuneTooMany = "report-commune-too-many",
    /// Communes sharing a name, one numbered line each (`$choices`).
    ReportChooseCommune = "report-choose-commune",
    ReportAskName = "report-ask-name",
    ReportNameInvalid = "report-name-invalid",
    /// What will be kept and why, before it is (`$commune`, `$date`).
    ReportConfirm = "report-confirm",
    ReportFiled = "report-filed",
    ReportCancelled = "report-cancelled",
    /// SIGNALER with no failed lookup before it.
    ReportNeedsLookup = "report-needs-lookup",
    /// Too many reports from one sender today.
    ReportLimit = "report-limit",
    /// A reported citizen is on an approved roll now (`$centre`, `$address`, `$station`,
    /// `$kind`).
    NoticeRegistered = "notice-registered",
    /// Label of the "report me missing" button under a "not found" reply.
    ButtonReport = "button-report",
    /// A clerk's enrolment succeeded (`$commune`).
    ClerkEnrolled = "clerk-enrolled",
    /// A wrong, expired or used invitation code: one answer for all.
    ClerkCodeRefused = "clerk-code-refused",
    /// A clerk command from a chat that is not an active clerk.
    ClerkNotEnrolled = "clerk-not-enrolled",
    /// A clerk command by SMS.
    ClerkTelegramOnly = "clerk-telegram-only",
    ClerkAskNin = "clerk-ask-nin",
    ClerkAskBirthDate = "clerk-ask-birth-date",
    ClerkAskName = "clerk-ask-name",
    ClerkAskPhone = "clerk-ask-phone",
    ClerkPhoneInvalid = "clerk-phone-invalid",
    /// The clerk's report before it is filed (`$nin` masked, `$date`, `$commune`, `$phone`).
    ClerkConfirm = "clerk-confirm",
    /// `$id`: the report's number.
    ClerkReportFiled = "clerk-report-filed",
    ClerkReportsEmpty = "clerk-reports-empty",
    /// Above the lines of /myreports (`$count`).
    ClerkReportsHeader = "clerk-reports-header",
    /// One report in /myreports (`$id`, `$nin` masked, `$date`, `$status`).
    ClerkReportLine = "clerk-report-line",
    /// The duty desk (`locales/*/duty.ftl`): a voter's ticket opened, someone on duty now.
    DutyOpenedNow = "duty-opened-now",
    /// Opened out of hours (`$date`: when duty resumes).
    DutyOpenedLater = "duty-opened-later",
    DutyOpenedUnknown = "duty-opened-unknown",
    DutyAlreadyOpen = "duty-already-open",
    DutyAskCommune = "duty-ask-commune",
    DutyCommuneUnknown = "duty-commune-unknown",
    DutyEnded = "duty-ended",
    DutyNoTicket = "duty-no-ticket",
    DutyClosedByAgent = "duty-closed-by-agent",
    ButtonAgent = "button-agent",
    /// Agents' messages: `#id` first, so that replying to one answers that ticket.
    DutyPushNew = "duty-push-new",
    DutyPushVoter = "duty-push-voter",
    DutyPushEscalated = "duty-push-escalated",
    DutyPushEnded = "duty-push-ended",
    DutyButtonTake = "duty-button-take",
    DutyTaken = "duty-taken",
    DutyAlreadyTaken = "duty-already-taken",
    DutyReplySent = "duty-reply-sent",
    DutyReplyTooLong = "duty-reply-too-long",
    DutyNoteSaved = "duty-note-saved",
    DutyClosed = "duty-closed",
    DutyNotOwner = "duty-not-owner",
    DutyTicketClosed = "duty-ticket-closed",
    DutyPickTicket = "duty-pick-ticket",
    DutyNotAgent = "duty-not-agent",
    DutyCannotSend = "duty-cannot-send",
    /// Clerks' incidents (`/incident`).
    IncidentChooseKind = "incident-choose-kind",
    IncidentKindCentreClosed = "incident-kind-centre-closed",
    IncidentKindMissingMaterial = "incident-kind-missing-material",
    IncidentKindListError = "incident-kind-list-error",
    IncidentKindOther = "incident-kind-other",
    IncidentChooseCentre = "incident-choose-centre",
    IncidentOpened = "incident-opened",
    IncidentClerksOnly = "incident-clerks-only",
}

/// A catalogue failed to load; only possible if a `.ftl` file shipped broken.
#[derive(Debug, Error)]
pub enum CatalogError {
    #[error("locales/{locale}: {detail}")]
    Invalid { locale: Locale, detail: String },
}

/// The compiled catalogues of both languages.
pub struct Catalog {
    ar: FluentBundle<FluentResource>,
    fr: FluentBundle<FluentResource>,
}

impl Catalog {
    /// Parses the embedded catalogues.
    pub fn load() -> Result<Self, CatalogError> {
        Ok(Self {
            ar: bundle(Locale::Ar, AR_FILES)?,
            fr: bundle(Locale::Fr, FR_FILES)?,
        })
    }

    /// Renders a message. A missing message or argument is logged and rendered as best Fluent
    /// can rather than failing the reply: the catalogue test guarantees it does not happen.
    pub fn render(&self, locale: Locale, id: MessageId, args: &FluentArgs) -> String {
        let bundle = match locale {
            Locale::Ar => &self.ar,
            Locale::Fr => &self.fr,
        };
        let Some(pattern) = bundle.get_message(id.as_str()).and_then(|m| m.value()) else {
            tracing::error!(message = id.as_str(), %locale, "message missing from catalogue");
            return id.as_str().to_owned();
        };
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(args), &mut errors);
        if !errors.is_empty() {
            tracing::error!(message = id.as_str(), %locale, ?errors, "message rendered with errors");
        }
        text.into_owned()
    }

    /// Whether a message exists in a locale's catalogue.
    pub fn has(&self, locale: Locale, id: MessageId) -> bool {
        let bundle = match locale {
            Locale::Ar => &self.ar,
            Locale::Fr => &self.fr,
        };
        bundle.has_message(id.as_str())
    }
}

fn bundle(locale: Locale, sources: &[&str]) -> Result<FluentBundle<FluentResource>, CatalogError> {
    let invalid = |detail: String| CatalogError::Invalid { locale, detail };
    let langid = locale.code().parse().map_err(|e| invalid(format!("{e}")))?;
    let mut bundle = FluentBundle::new_concurrent(vec![langid]);
    // Bidi isolation marks (U+2068/U+2069) would push even French SMS into UCS-2.
    bundle.set_use_isolating(false);
    bundle
        .add_function("PLURAL", move |positional, _named| {
            let category = match positional.first() {
                Some(FluentValue::Number(n)) if n.value >= 0.0 => {
                    plural::category(locale, n.value as u64)
                }
                _ => "other",
            };
            FluentValue::from(category)
        })
        .map_err(|e| invalid(format!("{e:?}")))?;
    for source in sources {
        let resource = FluentResource::try_new((*source).to_owned())
            .map_err(|(_, errors)| invalid(format!("{errors:?}")))?;
        bundle
            .add_resource(resource)
            .map_err(|errors| invalid(format!("{errors:?}")))?;
    }
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::sms::count_segments;

    const LONG_CENTRE_AR: &str = "متوسطة الشهيد العربي بن مهيدي - حي النصر";
    const LONG_ADDRESS_AR: &str = "شارع العقيد عميروش، حي الإخوة بوعزة، قرب مقر البلدية الجديدة";
    const LONG_CENTRE_FR: &str = "Ecole primaire Chahid Larbi Ben M'hidi 2";
    const LONG_ADDRESS_FR: &str = "Rue du Colonel Amirouche, cité des Frères Bouaza face mairie";

    /// Realistic, long values for every argument any message uses.
    /// The longest "commune (wilaya)" labels of `data/communes.csv` in one language.
    fn longest_commune_labels(locale: Locale) -> Vec<String> {
        let mut labels: Vec<String> =
            csv::Reader::from_reader(crate::reports::communes::COMMUNES_CSV.as_bytes())
                .records()
                .map(|row| {
                    let row = row.unwrap();
                    let (commune, wilaya) = match locale {
                        Locale::Ar => (&row[5], &row[1]),
                        Locale::Fr => (&row[6], &row[2]),
                    };
                    // As the dialogue names a commune that gives the wilaya its name.
                    if commune == wilaya {
                        commune.to_owned()
                    } else {
                        format!("{commune} ({wilaya})")
                    }
                })
                .collect();
        labels.sort_by_key(|label| std::cmp::Reverse(label.chars().count()));
        labels.truncate(4);
        labels
    }

    fn worst_case_args(
        locale: Locale,
        kind: &'static str,
        verify: &'static str,
        channel: &'static str,
    ) -> FluentArgs<'static> {
        let mut args = FluentArgs::new();
        let (centre, address) = match locale {
            Locale::Ar => (LONG_CENTRE_AR, LONG_ADDRESS_AR),
            Locale::Fr => (LONG_CENTRE_FR, LONG_ADDRESS_FR),
        };
        args.set("centre", centre);
        args.set("address", address);
        args.set("station", 128);
        args.set("kind", kind);
        args.set("verify", verify);
        args.set("count", 117);
        args.set("minutes", 59);
        // Report dialogue values with the longest commune names of the country, as the
        // confirmation names them ("name (wilaya)") and with two choices (what the choice
        // message always fits; it shows more when they fit).
        let longest = longest_commune_labels(locale);
        args.set("commune", longest[0].clone());
        args.set("choices", format!("1. {}\n2. {}", longest[0], longest[1]));
        args.set("channel", channel);
        args.set("date", "15/03/1990");
        args.set("nin", "10**************12");
        args.set("phone", "yes");
        args.set("id", 1234567);
        args.set("status", "handled");
        args
    }

    /// French messages that cannot avoid a character outside GSM-7: the name of the language
    /// itself, the bilingual language choice, and Telegram-only texts that are never an SMS
    /// (the Arabic button label, the clerks' report lines with their middle dots).
    const FRENCH_UCS2: &[&str] = &[
        "language-set",
        "button-french",
        "button-arabic",
        "telegram-choose-language",
        "clerk-report-line",
    ];

    #[test]
    fn french_texts_stay_in_gsm7_where_a_word_choice_allows() {
        let catalog = Catalog::load().unwrap();
        let mut args = FluentArgs::new();
        for (name, value) in [
            ("centre", "Ecole Emir Abdelkader"),
            ("address", "12 Rue de l'Independance"),
            ("commune", "Alger Centre"),
            ("choices", "1. Sidi Ali (Mostaganem)"),
            ("date", "15/03/1990"),
            ("nin", "10**************12"),
            ("kind", "mixed"),
            ("verify", "date"),
            ("phone", "yes"),
            ("status", "open"),
        ] {
            args.set(name, value);
        }
        args.set("count", 3);
        args.set("minutes", 5);
        args.set("station", 2);
        args.set("id", 12);
        let mut ucs2 = Vec::new();
        for &id in MessageId::ALL {
            for channel in ["sms", "telegram"] {
                args.set("channel", channel);
                let text = catalog.render(Locale::Fr, id, &args);
                if count_segments(&text).encoding == crate::i18n::sms::SmsEncoding::Ucs2
                    && !FRENCH_UCS2.contains(&id.as_str())
                {
                    ucs2.push(format!("{}: {text}", id.as_str()));
                }
            }
        }
        assert!(ucs2.is_empty(), "{ucs2:#?}");
    }

    #[test]
    fn sample_arguments_have_the_lengths_the_budget_assumes() {
        assert_eq!(LONG_CENTRE_AR.chars().count(), 40);
        assert_eq!(LONG_ADDRESS_AR.chars().count(), 60);
        assert_eq!(LONG_CENTRE_FR.chars().count(), 40);
        assert_eq!(LONG_ADDRESS_FR.chars().count(), 60);
    }

    #[test]
    fn every_message_exists_in_both_languages_and_fits_two_sms_segments() {
        let catalog = Catalog::load().unwrap();
        for &locale in &Locale::ALL {
            for &id in MessageId::ALL {
                assert!(catalog.has(locale, id), "{locale}: {} missing", id.as_str());
                for (kind, verify, channel) in ["mixed", "women"].into_iter().flat_map(|kind| {
                    ["date", "year", "none"]
                        .into_iter()
                        .flat_map(move |verify| {
                            ["sms", "telegram"]
                                .into_iter()
                                .map(move |channel| (kind, verify, channel))
                        })
                }) {
                    {
                        let text = catalog.render(
                            locale,
                            id,
                            &worst_case_args(locale, kind, verify, channel),
                        );
                        let count = count_segments(&text);
                        assert!(
                            count.segments <= 2,
                            "{locale} {} takes {} segments ({:?}, {} units): {text}",
                            id.as_str(),
                            count.segments,
                            count.encoding,
                            count.units
                        );
                        assert!(!text.contains('\u{2068}') && !text.contains('\u{2069}'));
                        assert!(
                            !text.contains('{') && !text.contains('}'),
                            "unresolved placeable: {text}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn found_message_carries_centre_address_and_station() {
        let catalog = Catalog::load().unwrap();
        let text = catalog.render(
            Locale::Fr,
            MessageId::LookupFound,
            &worst_case_args(Locale::Fr, "women", "date", "sms"),
        );
        assert!(text.contains(LONG_CENTRE_FR) && text.contains(LONG_ADDRESS_FR));
        assert!(text.contains("Bureau 128 (femmes)"), "{text}");
        let text = catalog.render(
            Locale::Ar,
            MessageId::LookupFound,
            &worst_case_args(Locale::Ar, "mixed", "date", "sms"),
        );
        assert!(text.contains("المكتب رقم 128"), "{text}");
    }

    #[test]
    fn french_answer_fits_even_when_a_name_forces_ucs2() {
        let catalog = Catalog::load().unwrap();
        let mut args = worst_case_args(Locale::Fr, "women", "date", "sms");
        args.set("centre", "Ecole Fatma N'Soumer, quartier Aïn Naâdja");
        let text = catalog.render(Locale::Fr, MessageId::LookupFound, &args);
        let count = count_segments(&text);
        assert_eq!(count.encoding, crate::i18n::sms::SmsEncoding::Ucs2);
        assert!(count.segments <= 2, "{text}");
    }

    #[test]
    fn arabic_counts_use_the_right_plural_form() {
        let catalog = Catalog::load().unwrap();
        let render = |count: u32| {
            let mut args = FluentArgs::new();
            args.set("count", count);
            catalog.render(Locale::Ar, MessageId::NinWrongLength, &args)
        };
        assert!(render(1).contains("رقما واحدا"));
        assert!(render(2).contains("رقمين"));
        assert!(render(17).contains("17 رقما"));
        assert!(render(5).contains("5 أرقام"));
        // intl_pluralrules says `other` here; CLDR says `few`.
        assert!(render(105).contains("105 أرقام"), "{}", render(105));
        assert!(render(100).contains("100 رقم."), "{}", render(100));
    }

    #[test]
    fn french_plural_and_no_isolation_marks() {
        let catalog = Catalog::load().unwrap();
        let mut args = FluentArgs::new();
        args.set("count", 1);
        let text = catalog.render(Locale::Fr, MessageId::NinWrongLength, &args);
        assert!(text.contains("envoyé 1 chiffre."), "{text}");
    }
}
