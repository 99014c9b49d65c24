# Telegram-only messages in French: the greeting, buttons, hints and command descriptions.
# They are checked by the same catalogue test as main.ftl (2 SMS segments at most), which also
# keeps them short enough for a phone screen.

# /start, in the language of the user's Telegram client, above the language buttons.
telegram-greeting =
    { $verify ->
        [none] Bonjour ! Pour savoir où voter, envoyez votre NIN (18 chiffres). Choisissez votre langue :
        [year] Bonjour ! Pour savoir où voter, envoyez votre NIN (18 chiffres) et votre année de naissance. Choisissez votre langue :
       *[date] Bonjour ! Pour savoir où voter, envoyez votre NIN (18 chiffres) et votre date de naissance, ex. 15/03/1990. Votre langue :
    }

# /language: the same text in both catalogues, so whoever reads it finds their language.
telegram-choose-language = اختر لغتك / Choisissez votre langue

# A photo, sticker, voice note, location... instead of text.
telegram-non-text =
    { $verify ->
        [none] Je ne lis que les messages écrits. Envoyez votre NIN (18 chiffres) par écrit.
        [year] Je ne lis que les messages écrits. Envoyez votre NIN (18 chiffres) et votre année de naissance par écrit.
       *[date] Je ne lis que les messages écrits. Envoyez votre NIN (18 chiffres) et votre date de naissance par écrit.
    }

# A command addressed to the bot in a group: lookups happen in private only.
telegram-group-hint = Pour savoir où voter, écrivez-moi en privé. N'envoyez pas votre NIN dans un groupe.

# After the "notify me" button.
telegram-subscribed = Nous vous avertirons ici si votre bureau de vote change. Pour ne plus en recevoir, envoyez /stop

# A "notify me" button pressed after its offer expired.
telegram-offer-expired = Ce bouton a expiré. Refaites la recherche de votre bureau.

button-subscribe = M'avertir si mon bureau change
button-arabic = العربية
button-french = Français

# Descriptions in the Telegram command menu (setMyCommands, language_code fr).
telegram-command-start = Accueil et choix de la langue
telegram-command-help = Comment trouver mon bureau de vote
telegram-command-language = Changer de langue
telegram-command-stop = Ne plus recevoir les notifications
