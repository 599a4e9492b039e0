"""The SMS-Activate catalog smsbox ships with: countries, services and a few operators.

Where the facts come from:

- Country ids are SMS-Activate's numeric country ids as its public handler API answers them
  (``getCountries``) and as the public SMS-Activate client libraries publish them in their
  country tables; every id below was cross-checked against at least two independent public
  tables. The English names follow SMS-Activate's own spelling; the Russian and Chinese names
  are the common names of each country (SMS-Activate's ``rus`` / ``chn`` fields).
- ``iso`` is the ISO 3166-1 alpha-2 code. SMS-Activate's id 12 ("USA Virtual", virtual
  numbers of the USA) is not a country of its own: it carries the user-assigned code ``XU``
  (ISO 3166 reserves ``XA`` to ``XZ`` for such use) because ``US`` belongs to id 187. Kosovo
  uses the widely adopted user-assigned ``XK``.
- The flags (visible, retry, rent, multiService) mirror SMS-Activate's ``getCountries``
  fields: visible and retry for every country listed, rent where SMS-Activate offered
  long-term rentals, multiService for the high-volume countries. Operators edit them in the
  admin; the data migration only fills them in.
- Service codes are SMS-Activate's short service codes (``getServicesList``), with the display
  names SMS-Activate uses; ``ot`` is "Any other".
- Operator codes are the names SMS-Activate's ``getOperators`` uses for a country.

Plain constants only: ``providers.catalog.catalog_upsert`` writes them.
"""

# (sms_activate_id, iso, name_en, name_ru, name_zh)
COUNTRIES: tuple[tuple[int, str, str, str, str], ...] = (
    (0, "RU", "Russia", "Россия", "俄罗斯"),
    (1, "UA", "Ukraine", "Украина", "乌克兰"),
    (2, "KZ", "Kazakhstan", "Казахстан", "哈萨克斯坦"),
    (3, "CN", "China", "Китай", "中国"),
    (4, "PH", "Philippines", "Филиппины", "菲律宾"),
    (5, "MM", "Myanmar", "Мьянма", "缅甸"),
    (6, "ID", "Indonesia", "Индонезия", "印度尼西亚"),
    (7, "MY", "Malaysia", "Малайзия", "马来西亚"),
    (8, "KE", "Kenya", "Кения", "肯尼亚"),
    (9, "TZ", "Tanzania", "Танзания", "坦桑尼亚"),
    (10, "VN", "Vietnam", "Вьетнам", "越南"),
    (11, "KG", "Kyrgyzstan", "Кыргызстан", "吉尔吉斯斯坦"),
    (12, "XU", "USA Virtual", "США (виртуальные)", "美国虚拟号码"),
    (13, "IL", "Israel", "Израиль", "以色列"),
    (14, "HK", "Hong Kong", "Гонконг", "香港"),
    (15, "PL", "Poland", "Польша", "波兰"),
    (16, "GB", "United Kingdom", "Великобритания", "英国"),
    (17, "MG", "Madagascar", "Мадагаскар", "马达加斯加"),
    (18, "CD", "DR Congo", "ДР Конго", "刚果民主共和国"),
    (19, "NG", "Nigeria", "Нигерия", "尼日利亚"),
    (20, "MO", "Macao", "Макао", "澳门"),
    (21, "EG", "Egypt", "Египет", "埃及"),
    (22, "IN", "India", "Индия", "印度"),
    (23, "IE", "Ireland", "Ирландия", "爱尔兰"),
    (24, "KH", "Cambodia", "Камбоджа", "柬埔寨"),
    (25, "LA", "Laos", "Лаос", "老挝"),
    (26, "HT", "Haiti", "Гаити", "海地"),
    (27, "CI", "Ivory Coast", "Кот-д'Ивуар", "科特迪瓦"),
    (28, "GM", "Gambia", "Гамбия", "冈比亚"),
    (29, "RS", "Serbia", "Сербия", "塞尔维亚"),
    (30, "YE", "Yemen", "Йемен", "也门"),
    (31, "ZA", "South Africa", "ЮАР", "南非"),
    (32, "RO", "Romania", "Румыния", "罗马尼亚"),
    (33, "CO", "Colombia", "Колумбия", "哥伦比亚"),
    (34, "EE", "Estonia", "Эстония", "爱沙尼亚"),
    (35, "AZ", "Azerbaijan", "Азербайджан", "阿塞拜疆"),
    (36, "CA", "Canada", "Канада", "加拿大"),
    (37, "MA", "Morocco", "Марокко", "摩洛哥"),
    (38, "GH", "Ghana", "Гана", "加纳"),
    (39, "AR", "Argentina", "Аргентина", "阿根廷"),
    (40, "UZ", "Uzbekistan", "Узбекистан", "乌兹别克斯坦"),
    (41, "CM", "Cameroon", "Камерун", "喀麦隆"),
    (42, "TD", "Chad", "Чад", "乍得"),
    (43, "DE", "Germany", "Германия", "德国"),
    (44, "LT", "Lithuania", "Литва", "立陶宛"),
    (45, "HR", "Croatia", "Хорватия", "克罗地亚"),
    (46, "SE", "Sweden", "Швеция", "瑞典"),
    (47, "IQ", "Iraq", "Ирак", "伊拉克"),
    (48, "NL", "Netherlands", "Нидерланды", "荷兰"),
    (49, "LV", "Latvia", "Латвия", "拉脱维亚"),
    (50, "AT", "Austria", "Австрия", "奥地利"),
    (51, "BY", "Belarus", "Беларусь", "白俄罗斯"),
    (52, "TH", "Thailand", "Таиланд", "泰国"),
    (53, "SA", "Saudi Arabia", "Саудовская Аравия", "沙特阿拉伯"),
    (54, "MX", "Mexico", "Мексика", "墨西哥"),
    (55, "TW", "Taiwan", "Тайвань", "台湾"),
    (56, "ES", "Spain", "Испания", "西班牙"),
    (57, "IR", "Iran", "Иран", "伊朗"),
    (58, "DZ", "Algeria", "Алжир", "阿尔及利亚"),
    (59, "SI", "Slovenia", "Словения", "斯洛文尼亚"),
    (60, "BD", "Bangladesh", "Бангладеш", "孟加拉国"),
    (61, "SN", "Senegal", "Сенегал", "塞内加尔"),
    (62, "TR", "Turkey", "Турция", "土耳其"),
    (63, "CZ", "Czech Republic", "Чехия", "捷克"),
    (64, "LK", "Sri Lanka", "Шри-Ланка", "斯里兰卡"),
    (65, "PE", "Peru", "Перу", "秘鲁"),
    (66, "PK", "Pakistan", "Пакистан", "巴基斯坦"),
    (67, "NZ", "New Zealand", "Новая Зеландия", "新西兰"),
    (70, "VE", "Venezuela", "Венесуэла", "委内瑞拉"),
    (73, "BR", "Brazil", "Бразилия", "巴西"),
    (77, "CY", "Cyprus", "Кипр", "塞浦路斯"),
    (78, "FR", "France", "Франция", "法国"),
    (82, "BE", "Belgium", "Бельгия", "比利时"),
    (83, "BG", "Bulgaria", "Болгария", "保加利亚"),
    (84, "HU", "Hungary", "Венгрия", "匈牙利"),
    (85, "MD", "Moldova", "Молдова", "摩尔多瓦"),
    (86, "IT", "Italy", "Италия", "意大利"),
    (95, "AE", "UAE", "ОАЭ", "阿联酋"),
    (100, "KW", "Kuwait", "Кувейт", "科威特"),
    (105, "EC", "Ecuador", "Эквадор", "厄瓜多尔"),
    (116, "JO", "Jordan", "Иордания", "约旦"),
    (117, "PT", "Portugal", "Португалия", "葡萄牙"),
    (128, "GE", "Georgia", "Грузия", "格鲁吉亚"),
    (129, "GR", "Greece", "Греция", "希腊"),
    (141, "SK", "Slovakia", "Словакия", "斯洛伐克"),
    (143, "TJ", "Tajikistan", "Таджикистан", "塔吉克斯坦"),
    (148, "AM", "Armenia", "Армения", "亚美尼亚"),
    (151, "CL", "Chile", "Чили", "智利"),
    (163, "FI", "Finland", "Финляндия", "芬兰"),
    (165, "LU", "Luxembourg", "Люксембург", "卢森堡"),
    (172, "DK", "Denmark", "Дания", "丹麦"),
    (173, "CH", "Switzerland", "Швейцария", "瑞士"),
    (174, "NO", "Norway", "Норвегия", "挪威"),
    (175, "AU", "Australia", "Австралия", "澳大利亚"),
    (182, "JP", "Japan", "Япония", "日本"),
    (187, "US", "USA", "США", "美国"),
    (190, "KR", "South Korea", "Южная Корея", "韩国"),
    (196, "SG", "Singapore", "Сингапур", "新加坡"),
    (199, "MT", "Malta", "Мальта", "马耳他"),
)

# Countries where SMS-Activate offered long-term rentals (getCountries "rent": 1).
RENT_COUNTRY_IDS: frozenset[int] = frozenset(
    {0, 1, 2, 6, 12, 15, 16, 32, 34, 36, 43, 44, 46, 48, 56, 78, 86, 187}
)

# High-volume countries where one number may be bought for several services at once
# (getCountries "multiService": 1).
MULTI_SERVICE_COUNTRY_IDS: frozenset[int] = frozenset(
    {0, 1, 2, 4, 6, 7, 10, 12, 15, 16, 22, 36, 43, 44, 48, 52, 62, 73, 78, 86, 187}
)

# Countries listed but hidden from customers until an operator shows them.
HIDDEN_COUNTRY_IDS: frozenset[int] = frozenset()

# Countries where another SMS may not be requested on the same number.
NO_RETRY_COUNTRY_IDS: frozenset[int] = frozenset()

# (code, display name), roughly by popularity.
SERVICES: tuple[tuple[str, str], ...] = (
    ("tg", "Telegram"),
    ("wa", "WhatsApp"),
    ("ig", "Instagram+Threads"),
    ("go", "Google, YouTube, Gmail"),
    ("vk", "VKontakte"),
    ("ok", "Odnoklassniki"),
    ("fb", "Facebook"),
    ("tw", "Twitter / X"),
    ("ds", "Discord"),
    ("mm", "Microsoft"),
    ("oi", "Tinder"),
    ("lf", "TikTok / Douyin"),
    ("am", "Amazon"),
    ("ya", "Yandex"),
    ("mb", "Yahoo"),
    ("ub", "Uber"),
    ("wb", "WeChat"),
    ("ma", "Mail.ru"),
    ("av", "Avito"),
    ("dh", "eBay"),
    ("ts", "PayPal"),
    ("nf", "Netflix"),
    ("mt", "Steam"),
    ("vi", "Viber"),
    ("dr", "OpenAI / ChatGPT"),
    ("wx", "Apple"),
    ("fu", "Snapchat"),
    ("bw", "Signal"),
    ("me", "LINE messenger"),
    ("kt", "KakaoTalk"),
    ("nv", "Naver"),
    ("qq", "Tencent QQ"),
    ("kf", "Weibo"),
    ("li", "Baidu"),
    ("hw", "Alipay / Alibaba / 1688"),
    ("hx", "AliExpress"),
    ("za", "JD.com"),
    ("qf", "RedBook"),
    ("ep", "Temu"),
    ("ka", "Shopee"),
    ("dl", "Lazada"),
    ("xd", "Tokopedia"),
    ("ni", "Gojek"),
    ("jg", "Grab"),
    ("mj", "Zalo"),
    ("im", "Imo"),
    ("tl", "Truecaller"),
    ("tn", "LinkedIn"),
    ("pm", "AOL"),
    ("dp", "ProtonMail"),
    ("zh", "Zoho"),
    ("gf", "Google Voice"),
    ("yw", "Grindr"),
    ("vz", "Hinge"),
    ("mo", "Bumble"),
    ("qv", "Badoo"),
    ("pf", "POF.com"),
    ("df", "Happn"),
    ("fd", "Mamba"),
    ("bl", "BIGO LIVE"),
    ("yl", "Yalla"),
    ("hb", "Twitch"),
    ("bz", "Blizzard"),
    ("alj", "Spotify"),
    ("bnl", "Reddit"),
    ("re", "Coinbase"),
    ("aon", "Binance"),
    ("ij", "Revolut"),
    ("nc", "Payoneer"),
    ("cn", "Fiverr"),
    ("uk", "Airbnb"),
    ("tx", "Bolt"),
    ("xk", "DiDi"),
    ("ly", "Olacabs"),
    ("rl", "inDriver"),
    ("ls", "Careem"),
    ("ua", "BlaBlaCar"),
    ("ac", "DoorDash"),
    ("zk", "Deliveroo"),
    ("nz", "Foodpanda"),
    ("rr", "Wolt"),
    ("aq", "Glovo"),
    ("ip", "Burger King"),
    ("wr", "Walmart"),
    ("ew", "Nike"),
    ("gp", "Ticketmaster"),
    ("kc", "Vinted"),
    ("sn", "OLX"),
    ("gx", "Hepsiburada"),
    ("sg", "OZON"),
    ("uu", "Wildberries"),
    ("mg", "Magnit"),
    ("rd", "Lenta"),
    ("yk", "SportMaster"),
    ("da", "MTS CashBack"),
    ("we", "DrugVokrug"),
    ("jc", "IVI"),
    ("hz", "Drom"),
    ("kl", "kolesa.kz"),
    ("ot", "Any other"),
)

# (country sms_activate_id, operator code, display name)
OPERATORS: tuple[tuple[int, str, str], ...] = (
    (0, "mts", "MTS"),
    (0, "beeline", "Beeline"),
    (0, "megafon", "MegaFon"),
    (0, "tele2", "Tele2"),
    (0, "mtt", "MTT"),
    (16, "ee", "EE"),
    (16, "vodafone", "Vodafone"),
    (16, "three", "Three"),
    (16, "o2", "O2"),
    (187, "tmobile", "T-Mobile"),
    (187, "att", "AT&T"),
    (187, "verizon", "Verizon"),
)
