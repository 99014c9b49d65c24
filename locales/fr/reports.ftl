# Reports of citizens missing from the roll: the citizen's own dialogue, the clerks' commands
# and the notice sent once they are registered. Same 2-segment budget as main.ftl.

report-ask-birth-date = Signalement : envoyez votre date de naissance, ex. 15/03/1990. Pour annuler, envoyez ANNULER

report-ask-commune = Dans quelle commune habitez-vous ? Envoyez le nom de la commune ou son code postal. Pour annuler, envoyez ANNULER

report-commune-unknown = Commune non trouvée. Renvoyez le nom de la commune, ex. Ain Benian, ou son code postal.

report-commune-too-many = Trop de communes portent ce nom. Envoyez le nom complet ou le code postal.

# $choices: one commune per line, numbered.
report-choose-commune = Laquelle ? Envoyez son numéro :
    { $choices }

report-ask-name = Envoyez vos nom et prénom complets, comme sur votre carte d'identité.

report-name-invalid = Nom non compris. Envoyez nom et prénom en lettres, ex. Benali Amina

# Why the data is kept, before anything is stored.
report-confirm = Commune { $commune }, né(e) le { $date }. Ces données servent seulement à vous inscrire à la prochaine révision des listes, puis sont effacées. OUI pour confirmer, NON pour annuler.

report-filed = Signalement enregistré. Le service des élections de votre commune l'examinera et nous vous préviendrons dès votre inscription.

report-cancelled = Signalement annulé : nous n'avons rien gardé.

report-needs-lookup = Pour signaler une absence de la liste, envoyez d'abord votre NIN et votre date de naissance.

report-limit = Trop de signalements { $channel ->
        [telegram] depuis ce compte
       *[sms] depuis ce numéro
    } aujourd'hui. Contactez le service des élections de votre commune.

# Sent through the notices outbox when an approved roll holds a reported citizen.
notice-registered =
    { $kind ->
        [women] Vous voilà inscrite. Centre : { $centre }
            { $address }
            Bureau { $station } (femmes)
       *[mixed] Vous voilà inscrit(e). Centre : { $centre }
            { $address }
            Bureau de vote { $station }
    }

# Label of the Telegram button under a "not found" reply.
button-report = Signaler mon absence de la liste

clerk-enrolled = Vous voici agent de la commune { $commune }. /report enregistre un citoyen absent de la liste, /myreports montre vos signalements.

clerk-code-refused = Code invalide, expiré ou déjà utilisé. Demandez un nouveau code à votre responsable.

clerk-not-enrolled = Commande réservée aux agents inscrits. Votre responsable doit vous inviter.

clerk-telegram-only = Les agents utilisent le bot Telegram de Maktab.

clerk-ask-nin = Nouveau signalement. Envoyez le NIN du citoyen (18 chiffres). /cancel pour annuler.

clerk-ask-birth-date = Date de naissance du citoyen, ex. 15/03/1990

clerk-ask-name = Nom et prénom complets du citoyen, comme sur sa carte d'identité.

clerk-ask-phone = Téléphone du citoyen pour le prévenir de son inscription, ou 0 s'il n'en a pas.

clerk-phone-invalid = Numéro non compris. Envoyez-le ainsi : 0551234567, ou 0 s'il n'y en a pas.

clerk-confirm = NIN { $nin }, né(e) le { $date }, commune { $commune }, { $phone ->
        [yes] avec téléphone
       *[no] sans téléphone
    }. OUI pour enregistrer, NON pour annuler.

clerk-report-filed = Signalement No { $id } enregistré.

clerk-reports-empty = Vous n'avez encore enregistré aucun signalement.

clerk-reports-header = Vos { $count } derniers signalements :

# One line of /myreports.
clerk-report-line = No { $id } · { $nin } · { $date } · { $status ->
        [handled] pris en charge
        [resolved] inscrit
       *[open] ouvert
    }
