# Messages of the SMS channel itself (the conversation's are in main.ftl). Same budget: 2 SMS
# segments, and GSM-7 where a word allows.

sms-media-unsupported = Nous ne lisons pas les photos. Ecrivez votre NIN (18 chiffres) dans un SMS, ou envoyez AIDE.
