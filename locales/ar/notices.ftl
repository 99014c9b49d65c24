# Notices about changes, sent to subscribers. Same 2-segment budget as the replies.

notice-station-changed =
    { $kind ->
        [women] تغيير مكتبك: { $centre }
            { $address }
            مكتب النساء رقم { $station }
       *[mixed] تغيير مكتبك: { $centre }
            { $address }
            المكتب رقم { $station }
    }

notice-removed =
    { $nin } لم يعد في القائمة الانتخابية لبلدية { $commune }. للاستفسار: مصلحة الانتخابات بالبلدية.
