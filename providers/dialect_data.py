"""The identifiers the SMSPool and 5sim client dialects use for smsbox's catalog.

Where the facts come from:

- 5sim names countries and products by lower-case English names without spaces or
  punctuation (``russia``, ``england``, ``hongkong``; ``telegram``, ``google``, ``vkontakte``),
  as its guest API (``/v1/guest/countries``, ``/v1/guest/products``) and the public 5sim client
  libraries' tables spell them. A country or service 5sim does not list gets a name in the same
  style (``usavirtual``, ``drcongo``; ``temu``), so every catalog row can be reached.
- 5sim's country answers carry the international calling prefix; ``CALLING_CODES`` are the
  ITU-T E.164 country codes (the one a country shares, such as ``+1`` or ``+7``, included).
- SMSPool numbers its countries and services itself. Only the ids its public documentation
  shows are filled in (1 United States, 2 United Kingdom, 3 Netherlands); SMSPool's API also
  takes a country by ISO code or name and a service by name, which is how the dialect reaches
  every other row until an operator enters SMSPool's id in the admin. A wrong id would sell
  the wrong country to a script that hard-codes SMSPool's numbering, so none is guessed.

Plain constants only: ``providers.dialect_ids.dialect_ids_fill`` writes them.
"""

# ISO 3166 alpha-2 (as ``providers.catalog_data`` has it) → 5sim country name.
FIVESIM_COUNTRIES: dict[str, str] = {
    "RU": "russia", "UA": "ukraine", "KZ": "kazakhstan", "CN": "china", "PH": "philippines",
    "MM": "myanmar", "ID": "indonesia", "MY": "malaysia", "KE": "kenya", "TZ": "tanzania",
    "VN": "vietnam", "KG": "kyrgyzstan", "XU": "usavirtual", "IL": "israel", "HK": "hongkong",
    "PL": "poland", "GB": "england", "MG": "madagascar", "CD": "drcongo", "NG": "nigeria",
    "MO": "macau", "EG": "egypt", "IN": "india", "IE": "ireland", "KH": "cambodia", "LA": "laos",
    "HT": "haiti", "CI": "ivorycoast", "GM": "gambia", "RS": "serbia", "YE": "yemen",
    "ZA": "southafrica", "RO": "romania", "CO": "colombia", "EE": "estonia", "AZ": "azerbaijan",
    "CA": "canada", "MA": "morocco", "GH": "ghana", "AR": "argentina", "UZ": "uzbekistan",
    "CM": "cameroon", "TD": "chad", "DE": "germany", "LT": "lithuania", "HR": "croatia",
    "SE": "sweden", "IQ": "iraq", "NL": "netherlands", "LV": "latvia", "AT": "austria",
    "BY": "belarus", "TH": "thailand", "SA": "saudiarabia", "MX": "mexico", "TW": "taiwan",
    "ES": "spain", "IR": "iran", "DZ": "algeria", "SI": "slovenia", "BD": "bangladesh",
    "SN": "senegal", "TR": "turkey", "CZ": "czech", "LK": "srilanka", "PE": "peru",
    "PK": "pakistan", "NZ": "newzealand", "VE": "venezuela", "BR": "brazil", "CY": "cyprus",
    "FR": "france", "BE": "belgium", "BG": "bulgaria", "HU": "hungary", "MD": "moldova",
    "IT": "italy", "AE": "uae", "KW": "kuwait", "EC": "ecuador", "JO": "jordan",
    "PT": "portugal", "GE": "georgia", "GR": "greece", "SK": "slovakia", "TJ": "tajikistan",
    "AM": "armenia", "CL": "chile", "FI": "finland", "LU": "luxembourg", "DK": "denmark",
    "CH": "switzerland", "NO": "norway", "AU": "australia", "JP": "japan", "US": "usa",
    "KR": "southkorea", "SG": "singapore", "MT": "malta",
}  # fmt: skip

# ISO 3166 alpha-2 → international calling code (digits, without "+").
CALLING_CODES: dict[str, str] = {
    "RU": "7", "UA": "380", "KZ": "7", "CN": "86", "PH": "63", "MM": "95", "ID": "62",
    "MY": "60", "KE": "254", "TZ": "255", "VN": "84", "KG": "996", "XU": "1", "IL": "972",
    "HK": "852", "PL": "48", "GB": "44", "MG": "261", "CD": "243", "NG": "234", "MO": "853",
    "EG": "20", "IN": "91", "IE": "353", "KH": "855", "LA": "856", "HT": "509", "CI": "225",
    "GM": "220", "RS": "381", "YE": "967", "ZA": "27", "RO": "40", "CO": "57", "EE": "372",
    "AZ": "994", "CA": "1", "MA": "212", "GH": "233", "AR": "54", "UZ": "998", "CM": "237",
    "TD": "235", "DE": "49", "LT": "370", "HR": "385", "SE": "46", "IQ": "964", "NL": "31",
    "LV": "371", "AT": "43", "BY": "375", "TH": "66", "SA": "966", "MX": "52", "TW": "886",
    "ES": "34", "IR": "98", "DZ": "213", "SI": "386", "BD": "880", "SN": "221", "TR": "90",
    "CZ": "420", "LK": "94", "PE": "51", "PK": "92", "NZ": "64", "VE": "58", "BR": "55",
    "CY": "357", "FR": "33", "BE": "32", "BG": "359", "HU": "36", "MD": "373", "IT": "39",
    "AE": "971", "KW": "965", "EC": "593", "JO": "962", "PT": "351", "GE": "995", "GR": "30",
    "SK": "421", "TJ": "992", "AM": "374", "CL": "56", "FI": "358", "LU": "352", "DK": "45",
    "CH": "41", "NO": "47", "AU": "61", "JP": "81", "US": "1", "KR": "82", "SG": "65",
    "MT": "356",
}  # fmt: skip

# SMS-Activate service code (``providers.catalog_data``) → 5sim product name.
FIVESIM_PRODUCTS: dict[str, str] = {
    "tg": "telegram", "wa": "whatsapp", "ig": "instagram", "go": "google", "vk": "vkontakte",
    "ok": "odnoklassniki", "fb": "facebook", "tw": "twitter", "ds": "discord",
    "mm": "microsoft", "oi": "tinder", "lf": "tiktok", "am": "amazon", "ya": "yandex",
    "mb": "yahoo", "ub": "uber", "wb": "wechat", "ma": "mailru", "av": "avito", "dh": "ebay",
    "ts": "paypal", "nf": "netflix", "mt": "steam", "vi": "viber", "dr": "openai",
    "wx": "apple", "fu": "snapchat", "bw": "signal", "me": "line", "kt": "kakaotalk",
    "nv": "naver", "qq": "tencentqq", "kf": "weibo", "li": "baidu", "hw": "alibaba",
    "hx": "aliexpress", "za": "jd", "qf": "redbook", "ep": "temu", "ka": "shopee",
    "dl": "lazada", "xd": "tokopedia", "ni": "gojek", "jg": "grabtaxi", "mj": "zalo",
    "im": "imo", "tl": "truecaller", "tn": "linkedin", "pm": "aol", "dp": "protonmail",
    "zh": "zoho", "gf": "googlevoice", "yw": "grindr", "vz": "hinge", "mo": "bumble",
    "qv": "badoo", "pf": "pof", "df": "happn", "fd": "mamba", "bl": "bigolive", "yl": "yalla",
    "hb": "twitch", "bz": "blizzard", "alj": "spotify", "bnl": "reddit", "re": "coinbase",
    "aon": "binance", "ij": "revolut", "nc": "payoneer", "cn": "fiverr", "uk": "airbnb",
    "tx": "bolt", "xk": "didi", "ly": "olacabs", "rl": "indriver", "ls": "careem",
    "ua": "blablacar", "ac": "doordash", "zk": "deliveroo", "nz": "foodpanda", "rr": "wolt",
    "aq": "glovo", "ip": "burgerking", "wr": "walmart", "ew": "nike", "gp": "ticketmaster",
    "kc": "vinted", "sn": "olx", "gx": "hepsiburadacom", "sg": "ozon", "uu": "wildberries",
    "mg": "magnit", "rd": "lenta", "yk": "sportmaster", "da": "mtscashback",
    "we": "drugvokrug", "jc": "ivi", "hz": "drom", "kl": "kolesakz", "ot": "other",
}  # fmt: skip

# ISO 3166 alpha-2 → SMSPool country id (only those SMSPool's documentation shows).
SMSPOOL_COUNTRY_IDS: dict[str, int] = {"US": 1, "GB": 2, "NL": 3}

# ISO 3166 alpha-2 → SMSPool's country name, where it differs from ``name_en``.
SMSPOOL_COUNTRY_NAMES: dict[str, str] = {"US": "United States", "AE": "United Arab Emirates"}

# SMS-Activate service code → SMSPool service id (none is published; operators fill them in).
SMSPOOL_SERVICE_IDS: dict[str, int] = {}
