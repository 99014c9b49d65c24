# Notices about changes, sent to subscribers. Same 2-segment budget as the replies.

notice-station-changed =
    { $kind ->
        [women] Changement : { $centre }
            { $address }
            Bureau { $station } (femmes)
       *[mixed] Changement : { $centre }
            { $address }
            Bureau de vote { $station }
    }
