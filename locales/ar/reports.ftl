# Reports of citizens missing from the roll: the citizen's own dialogue, the clerks' commands
# and the notice sent once they are registered. Same 2-segment budget as main.ftl.

report-ask-birth-date = للإبلاغ عن عدم تسجيلك أرسل تاريخ ميلادك، مثلا 15/03/1990. للإلغاء أرسل: إلغاء

report-ask-commune = في أي بلدية تسكن؟ أرسل اسم البلدية أو رمزها البريدي. للإلغاء أرسل: إلغاء

report-commune-unknown = لم نجد هذه البلدية. أرسل اسم البلدية، مثلا عين البنيان، أو رمزها البريدي.

report-commune-too-many = بلديات كثيرة تحمل هذا الاسم. أرسل الاسم كاملا أو الرمز البريدي.

# $choices: one commune per line, numbered.
report-choose-commune = أي بلدية تقصد؟ أرسل رقمها:
    { $choices }

report-ask-name = أرسل اسمك ولقبك كاملين كما في بطاقة التعريف.

report-name-invalid = لم نفهم الاسم. أرسل الاسم واللقب بالحروف، مثلا أمينة بن علي

# Why the data is kept, before anything is stored.
report-confirm = بلدية { $commune }، ميلاد { $date }. نحفظها فقط لتسجيلك في مراجعة القوائم ثم نحذفها. نعم للتأكيد، لا للإلغاء

report-filed = سجلنا بلاغك. ستدرسه مصلحة الانتخابات في بلديتك وسنعلمك عند تسجيلك.

report-cancelled = ألغي البلاغ ولم نحفظ شيئا.

report-needs-lookup = للإبلاغ عن عدم تسجيلك أرسل أولا رقم التعريف الوطني وتاريخ ميلادك.

report-limit = بلاغات كثيرة { $channel ->
        [telegram] من هذا الحساب
       *[sms] من هذا الرقم
    } اليوم. اتصل بمصلحة الانتخابات في بلديتك.

# Sent through the notices outbox when an approved roll holds a reported citizen.
notice-registered =
    { $kind ->
        [women] أنت مسجلة الآن: { $centre }
            { $address }
            مكتب النساء { $station }
       *[mixed] أنت مسجل الآن: { $centre }
            { $address }
            المكتب { $station }
    }

# Label of the Telegram button under a "not found" reply.
button-report = الإبلاغ عن عدم تسجيلي

clerk-enrolled = أنت عون بلدية { $commune }. /report لتسجيل مواطن غير مسجل، /myreports لرؤية بلاغاتك.

clerk-code-refused = الرمز غير صحيح أو انتهت صلاحيته أو استعمل. اطلب رمزا جديدا من مسؤولك.

clerk-not-enrolled = هذا الأمر خاص بالأعوان المسجلين. يجب أن يدعوك مسؤولك.

clerk-telegram-only = يستعمل الأعوان بوت مكتب على تيليغرام.

clerk-ask-nin = بلاغ جديد. أرسل رقم التعريف الوطني للمواطن (18 رقما). /cancel للإلغاء.

clerk-ask-birth-date = تاريخ ميلاد المواطن، مثلا 15/03/1990

clerk-ask-name = اسم المواطن ولقبه كاملين كما في بطاقة التعريف.

clerk-ask-phone = هاتف المواطن لنعلمه عند تسجيله، أو 0 إن لم يكن له هاتف.

clerk-phone-invalid = لم نفهم الرقم. أرسله هكذا: 0551234567، أو 0 إن لم يكن له هاتف.

clerk-confirm = رقم { $nin }، ميلاد { $date }، بلدية { $commune }، { $phone ->
        [yes] مع هاتف
       *[no] دون هاتف
    }. نعم للتسجيل، لا للإلغاء.

clerk-report-filed = سجل البلاغ رقم { $id }.

clerk-reports-empty = لم تسجل أي بلاغ بعد.

clerk-reports-header = آخر بلاغاتك ({ $count }):

# One line of /myreports.
clerk-report-line = { $id } · { $nin } · { $date } · { $status ->
        [handled] قيد المعالجة
        [resolved] سجل
       *[open] مفتوح
    }
