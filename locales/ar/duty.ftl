# The duty desk (issue 16); see locales/fr/duty.ftl for the notes. Same 2-segment budget.

duty-opened-now = أرسل طلبك { $id }: سيجيبك موظف المداومة هنا قريبا. اكتب رسائلك، وأرسل إنهاء للإنهاء.

duty-opened-later = سجل طلبك { $id }. تستأنف المداومة في { $date } وسيجيبك موظف هنا. أرسل إنهاء للإنهاء.

duty-opened-unknown = سجل طلبك { $id }. سيجيبك موظف هنا في أقرب وقت. أرسل إنهاء للإنهاء.

duty-already-open = طلبك { $id } مفتوح: اكتب رسالتك وسيقرؤها الموظف. أرسل إنهاء للإنهاء.

duty-ask-commune = في أي بلدية تصوت؟ أرسل اسم البلدية أو رمزها البريدي ليجيبك موظف منها.

duty-commune-unknown = لم نجد البلدية. أعد إرسال اسم بلديتك أو رمزها البريدي.

duty-ended = انتهى طلبك { $id }. شكرا. للتحدث مع موظف من جديد أرسل موظف.

duty-no-ticket = ليس لديك طلب مفتوح. للتحدث مع موظف أرسل موظف وسؤالك.

duty-closed-by-agent = أغلق الموظف طلبك { $id }. لطلب جديد أرسل موظف.

button-agent = التحدث مع موظف

duty-push-new = #{ $id } { $kind ->
        [voter] طلب جديد
        [centre_closed] تنبيه: مركز مغلق
        [missing_material] تنبيه: عتاد ناقص
        [list_error] تنبيه: خطأ في القائمة
       *[other] تنبيه
    } - بلدية { $commune }، { $phone }{ $centre ->
        [none] {""}
       *[other] ، مركز { $centre }
    }

duty-push-voter = #{ $id } رسالة من { $phone }:

duty-push-escalated = #{ $id } تصعيد: بلا رد منذ { $minutes } دقيقة - بلدية { $commune }، { $phone }

duty-push-ended = #{ $id } أنهى صاحب الطلب المحادثة.

duty-button-take = أتكفل به

duty-taken = #{ $id } لك. رد على رسائله للكتابة لصاحبه، /note نص لملاحظة داخلية، /close للإغلاق.

duty-already-taken = تكفل به موظف آخر.

duty-reply-sent = #{ $id } أرسل الرد.

duty-reply-too-long = #{ $id } الرد طويل ({ $count } رسائل، 2 على الأكثر): اختصره، لم يرسل شيء.

duty-note-saved = #{ $id } سجلت الملاحظة.

duty-closed = #{ $id } أغلق.

duty-not-owner = #{ $id } ليس لك: تكفل به أولا بالزر.

duty-ticket-closed = #{ $id } مغلق من قبل.

duty-pick-ticket = أي طلب؟ رد على رسالة الطلب أو اذكر رقمه: /close 12 أو /note 12 نص.

duty-not-agent = هذا الحساب غير مسجل كموظف مداومة.

duty-cannot-send = #{ $id } تعذرت الكتابة لصاحب الطلب الآن: أعد المحاولة لاحقا.

incident-choose-kind = ما الحادث الذي تبلغ عنه؟

incident-kind-centre-closed = مركز مغلق

incident-kind-missing-material = عتاد ناقص

incident-kind-list-error = خطأ في القائمة

incident-kind-other = آخر

incident-choose-centre = في أي مركز؟

incident-opened = سجل الحادث { $id } في رأس القائمة. سيجيبك موظف المداومة هنا.

incident-clerks-only = التبليغ عن الحوادث لأعوان الميدان المسجلين فقط: أرسل أولا /clerk ورمز دعوتك.
