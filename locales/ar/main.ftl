# Voter-facing messages in Arabic. Every message must fit in 2 SMS segments (134 UCS-2
# characters) with a 40-character centre name and a 60-character address: see the catalogue
# test in src/i18n/mod.rs. PLURAL() gives the CLDR category (zero, one, two, few, many, other).

lookup-found =
    { $kind ->
        [women] مركزك: { $centre }
            { $address }
            مكتب النساء رقم { $station }
       *[mixed] مركزك: { $centre }
            { $address }
            المكتب رقم { $station }
    }

lookup-not-found = لم نجد ناخبا بهذه المعلومات. تحقق منها. إن لم تكن مسجلا أرسل: تبليغ، لنبلغ مصلحة الانتخابات في بلديتك.

ask-birth-date = شكرا. أرسل الآن تاريخ ميلادك، مثلا 15/03/1990

ask-birth-year = شكرا. أرسل الآن سنة ميلادك، مثلا 1990

nin-wrong-length = رقم التعريف الوطني من 18 رقما وأرسلت { PLURAL($count) ->
        [zero] 0 رقم
        [one] رقما واحدا
        [two] رقمين
        [few] { $count } أرقام
        [many] { $count } رقما
       *[other] { $count } رقم
    }. أعد إرساله كاملا.

date-invalid = لم نفهم تاريخ الميلاد. أرسله هكذا: 15/03/1990

# A two-digit year that could be in 1900s or 2000s for a voter.
date-year-ambiguous = سنة الميلاد من رقمين: أرسل التاريخ بالسنة كاملة، مثلا 15/03/1990

# Two different NINs in one message.
nin-one-at-a-time = أرسل رقم تعريف وطني واحدا في كل رسالة مع تاريخ ميلاده.

year-invalid = لم نفهم سنة الميلاد. أرسلها هكذا: 1990

nin-first = أرسل أولا رقم التعريف الوطني (18 رقما) ثم تاريخ ميلادك.

help =
    { $verify ->
        [none] لمعرفة مكتب تصويتك أرسل رقم التعريف الوطني (18 رقما). للفرنسية أرسل FR
        [year] لمعرفة مكتب تصويتك أرسل رقم التعريف الوطني (18 رقما) وسنة ميلادك. للفرنسية أرسل FR
       *[date] لمعرفة مكتب تصويتك أرسل رقم التعريف الوطني (18 رقما) وتاريخ ميلادك، مثلا 15/03/1990. للفرنسية أرسل FR
    }

hint =
    { $verify ->
        [none] لم نفهم رسالتك. أرسل رقم التعريف الوطني (18 رقما)، أو ? للمساعدة.
        [year] لم نفهم رسالتك. أرسل رقم التعريف الوطني (18 رقما) وسنة ميلادك، أو ? للمساعدة.
       *[date] لم نفهم رسالتك. أرسل رقم التعريف الوطني (18 رقما) وتاريخ ميلادك، أو ? للمساعدة.
    }

language-set = سنجيبك بالعربية من الآن.

rate-limited-sender = طلبات كثيرة { $channel ->
        [telegram] من هذا الحساب
       *[sms] من هذا الرقم
    }. أعد المحاولة بعد { PLURAL($minutes) ->
        [zero] أقل من دقيقة
        [one] دقيقة واحدة
        [two] دقيقتين
        [few] { $minutes } دقائق
        [many] { $minutes } دقيقة
       *[other] { $minutes } دقيقة
    }.

rate-limited-nin = محاولات كثيرة لهذا الرقم اليوم. أعد المحاولة غدا أو اتصل بمصلحة الانتخابات في بلديتك.

service-unavailable = الخدمة غير متاحة مؤقتا. أعد المحاولة بعد قليل.

notices-stopped = لن تصلك إشعارات بعد الآن. للعودة أرسل ابدأ

notices-started = ستصلك من جديد إشعارات تغيير مكتب التصويت. لإيقافها أرسل توقف
