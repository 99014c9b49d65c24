# The duty desk (issue 16): a voter asks for a person (AGENT), agents answer from Telegram,
# clerks report incidents at their centre (/incident). Same 2-segment budget as main.ftl.
# $id is a ticket number; in the agents' messages "#{ $id }" comes first, because replying to
# such a message answers that ticket.

duty-opened-now = Demande { $id } transmise : un agent de permanence vous répond ici sous peu. Ecrivez vos messages ; FIN pour terminer.

# $date: when the next duty shift starts, "15/03 08:00".
duty-opened-later = Demande { $id } enregistrée. La permanence reprend le { $date } ; un agent vous répondra alors ici. FIN pour terminer.

duty-opened-unknown = Demande { $id } enregistrée. Un agent vous répondra ici dès que possible. FIN pour terminer.

duty-already-open = Votre demande { $id } est ouverte : écrivez votre message, l'agent le lira. FIN pour terminer.

duty-ask-commune = Dans quelle commune votez-vous ? Envoyez le nom de la commune ou son code postal, un agent de cette commune vous répondra.

duty-commune-unknown = Commune non trouvée. Renvoyez le nom de votre commune, ex. Ain Benian, ou son code postal.

duty-ended = Demande { $id } terminée. Merci. Pour parler de nouveau à un agent, envoyez AGENT.

duty-no-ticket = Vous n'avez pas de demande ouverte. Pour parler à un agent, envoyez AGENT et votre question.

duty-closed-by-agent = L'agent a clos votre demande { $id }. Pour une nouvelle demande, envoyez AGENT.

button-agent = Parler à un agent

# Agents, on Telegram. $kind: voter, incident, or the incident's kind.
duty-push-new = #{ $id } Nouvelle { $kind ->
        [voter] demande
        [centre_closed] alerte : centre fermé
        [missing_material] alerte : matériel manquant
        [list_error] alerte : erreur de liste
       *[other] alerte
    } - commune { $commune }, { $phone }{ $centre ->
        [none] {""}
       *[other] , centre { $centre }
    }

duty-push-voter = #{ $id } Message de { $phone } :

duty-push-escalated = #{ $id } ESCALADE : sans réponse depuis { $minutes } min - commune { $commune }, { $phone }

duty-push-ended = #{ $id } Le demandeur a terminé la conversation.

duty-button-take = Je la prends

duty-taken = #{ $id } est à vous. Répondez à ses messages pour écrire au demandeur ; /note TEXTE pour une note interne, /close pour clore.

duty-already-taken = Déjà prise par un autre agent.

duty-reply-sent = #{ $id } Réponse envoyée.

duty-reply-too-long = #{ $id } Réponse trop longue ({ $count } SMS, 2 au plus) : raccourcissez-la, rien n'a été envoyé.

duty-note-saved = #{ $id } Note enregistrée.

duty-closed = #{ $id } Close.

duty-not-owner = #{ $id } n'est pas à vous : prenez-la d'abord avec le bouton.

duty-ticket-closed = #{ $id } est déjà close.

duty-pick-ticket = Quelle demande ? Répondez au message de la demande, ou donnez son numéro : /close 12, /note 12 TEXTE.

duty-not-agent = Ce compte n'est pas inscrit comme agent de permanence.

duty-cannot-send = #{ $id } Impossible d'écrire au demandeur sur son canal pour le moment : réessayez plus tard.

# Clerks, on Telegram.
incident-choose-kind = Quel incident signalez-vous ?

incident-kind-centre-closed = Centre fermé

incident-kind-missing-material = Matériel manquant

incident-kind-list-error = Erreur de liste

incident-kind-other = Autre

incident-choose-centre = Dans quel centre ?

incident-opened = Incident { $id } enregistré, traité en priorité. Un agent de permanence vous répond ici.

incident-clerks-only = Seuls les agents de terrain inscrits signalent des incidents : envoyez d'abord /clerk et votre code d'invitation.
