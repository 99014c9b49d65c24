# Voter-facing messages in French. Every message must fit in 2 SMS segments with a
# 40-character centre name and a 60-character address: see the catalogue test in
# src/i18n/mod.rs. Avoid ê â î ô û ç œ and curly quotes where a word allows: they push the
# whole SMS from GSM-7 (160 characters) to UCS-2 (70).

lookup-found =
    { $kind ->
        [women] Centre : { $centre }
            { $address }
            Bureau { $station } (femmes)
       *[mixed] Centre : { $centre }
            { $address }
            Bureau de vote { $station }
    }

lookup-not-found = Aucun inscrit ne correspond à ces informations. Vérifiez-les. Si vous n'avez pas été inscrit, envoyez SIGNALER pour le signaler au service des élections.

ask-birth-date = Merci. Envoyez maintenant votre date de naissance, par exemple 15/03/1990

ask-birth-year = Merci. Envoyez maintenant votre année de naissance, par exemple 1990

nin-wrong-length = Le NIN a 18 chiffres, vous avez envoyé { $count } { PLURAL($count) ->
        [one] chiffre
       *[other] chiffres
    }. Renvoyez-le en entier.

date-invalid = Date de naissance non comprise. Envoyez-la ainsi : 15/03/1990

# A two-digit year that could be in 1900s or 2000s for a voter.
date-year-ambiguous = Année de naissance à 2 chiffres : envoyez la date avec l'année en entier, ex. 15/03/1990

# Two different NINs in one message.
nin-one-at-a-time = Envoyez un seul NIN par message, avec sa date de naissance.

year-invalid = Année de naissance non comprise. Envoyez-la ainsi : 1990

nin-first = Envoyez d'abord votre NIN (18 chiffres), puis votre date de naissance.

help =
    { $verify ->
        [none] Pour savoir où voter, envoyez votre NIN (18 chiffres). Pour l'arabe, envoyez AR
        [year] Pour savoir où voter, envoyez votre NIN (18 chiffres) et votre année de naissance. Pour l'arabe, envoyez AR
       *[date] Pour savoir où voter, envoyez votre NIN (18 chiffres) et votre date de naissance, ex. 15/03/1990. Pour l'arabe, envoyez AR
    }

hint =
    { $verify ->
        [none] Message non compris. Envoyez votre NIN (18 chiffres), ou AIDE.
        [year] Message non compris. Envoyez votre NIN (18 chiffres) et votre année de naissance, ou AIDE.
       *[date] Message non compris. Envoyez votre NIN (18 chiffres) et votre date de naissance, ou AIDE.
    }

language-set = Entendu : nous vous répondrons en français.

rate-limited-sender = Trop de demandes { $channel ->
        [telegram] de ce compte
       *[sms] de ce numéro
    }. Réessayez dans { $minutes } { PLURAL($minutes) ->
        [one] minute
       *[other] minutes
    }.

rate-limited-nin = Trop d'essais pour ce NIN aujourd'hui. Réessayez demain ou contactez le service des élections de votre commune.

service-unavailable = Service momentanément indisponible. Réessayez dans quelques minutes.

notices-stopped = Vous ne recevrez plus de notifications. Pour les reprendre, envoyez START

notices-started = Vous recevrez de nouveau les notifications de changement de bureau. Pour ne plus les recevoir, envoyez STOP
