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

notice-removed =
    { $nin } ne figure plus sur la liste electorale de { $commune }. Pour toute question, adressez-vous au service des elections de l'APC de { $commune }.
