# Telegram-only messages in Arabic: the greeting, buttons, hints and command descriptions.
# They are checked by the same catalogue test as main.ftl (2 SMS segments at most), which also
# keeps them short enough for a phone screen.

# /start, in the language of the user's Telegram client, above the language buttons.
telegram-greeting =
    { $verify ->
        [none] مرحبا! لمعرفة مكتب تصويتك أرسل رقم التعريف الوطني (18 رقما). اختر لغتك:
        [year] مرحبا! لمعرفة مكتب تصويتك أرسل رقم التعريف الوطني (18 رقما) وسنة ميلادك. اختر لغتك:
       *[date] مرحبا! لمعرفة مكتب تصويتك أرسل رقم التعريف الوطني (18 رقما) وتاريخ ميلادك، مثلا 15/03/1990. اختر لغتك:
    }

# /language: the same text in both catalogues, so whoever reads it finds their language.
telegram-choose-language = اختر لغتك / Choisissez votre langue

# A photo, sticker, voice note, location... instead of text.
telegram-non-text =
    { $verify ->
        [none] أقرأ الرسائل المكتوبة فقط. أرسل رقم التعريف الوطني (18 رقما) كتابة.
        [year] أقرأ الرسائل المكتوبة فقط. أرسل رقم التعريف الوطني (18 رقما) وسنة ميلادك كتابة.
       *[date] أقرأ الرسائل المكتوبة فقط. أرسل رقم التعريف الوطني (18 رقما) وتاريخ ميلادك كتابة.
    }

# A command addressed to the bot in a group: lookups happen in private only.
telegram-group-hint = لمعرفة مكتب تصويتك راسلني على انفراد، لا ترسل رقمك في مجموعة.

# After the "notify me" button.
telegram-subscribed = سنعلمك هنا إذا تغير مكتب تصويتك. لإيقاف الإشعارات أرسل /stop

# A "notify me" button pressed after its offer expired.
telegram-offer-expired = انتهت صلاحية هذا الزر. ابحث عن مكتبك من جديد.

button-subscribe = أعلمني إذا تغير مكتبي
button-arabic = العربية
button-french = Français

# Descriptions in the Telegram command menu (setMyCommands, language_code ar).
telegram-command-start = البداية واختيار اللغة
telegram-command-help = كيف أعرف مكتب تصويتي
telegram-command-language = تغيير اللغة
telegram-command-stop = إيقاف الإشعارات
