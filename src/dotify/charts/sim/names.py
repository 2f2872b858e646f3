"""Plausible song titles and artist names per language, for the chart simulator.

Each language has a small vocabulary of real words for titles and of given names and
surnames for artists, so a person reading recommendations can tell a Spanish song from a
Swedish or a Korean one. ``title(rng, lang)`` and ``artist(rng, lang)`` take a
:class:`random.Random` and are deterministic for its seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    words: tuple[str, ...]  # title vocabulary
    given: tuple[str, ...]  # given names
    family: tuple[str, ...]  # surnames, or syllables for stage names
    stage: tuple[str, ...] = ()  # prefixes of stage names ("Lil", "DJ", "Los")
    title_case: bool = False  # capitalise every title word (English, German nouns)


def _w(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


LANGUAGES: dict[str, Language] = {
    "spanish": Language(
        _w("amor|corazón|noche|fuego|baila|tu boca|mi vida|bonita|sin ti|contigo|te quiero|"
           "la playa|perreo|vamos|loco|besos|mentiras|dime|otra vez|cielo|luna|calor|mami|"
           "el baile|sola|de nuevo|qué pasa|mala|dolor|quédate"),
        _w("Carlos|Luis|Sofía|Valentina|Mateo|Camila|Diego|Alejandro|Lucía|Daniela|Javier|"
           "Paola|Nicolás|Andrés|Karol"),
        _w("García|Martínez|Rodríguez|López|Hernández|Gómez|Díaz|Morales|Rojas|Vargas|Castro|"
           "Ramos|Ortiz|Navarro|Fuentes"),
        _w("DJ|El|MC|Nene|Lito|Yung"),
    ),
    "portuguese": Language(
        _w("saudade|coração|amor|vai|beijo|noite|menina|sozinho|chão|sorriso|bailão|"
           "cê|tá|paixão|meu bem|sem você|tô|lua|verão|desce|carinho|morena|saudades de nós"),
        _w("João|Pedro|Ana|Mariana|Lucas|Gabriel|Beatriz|Thiago|Larissa|Rafael|Luísa|Caio"),
        _w("Silva|Santos|Oliveira|Souza|Costa|Pereira|Almeida|Ferreira|Rocha|Barbosa|Lima"),
        _w("MC|DJ|Zé|Os"),
    ),
    "english": Language(
        _w("love|night|heart|fire|gold|crazy|tonight|baby|forever|lonely|dance|money|dreams|"
           "highway|falling|better|summer|broken|home|stay|rain|wild|blue|ghost|lies|"
           "midnight|feel it|run away|sweet|city"),
        _w("Jake|Emily|Tyler|Madison|Ryan|Olivia|Chris|Ashley|Lewis|Chloe|Harry|Ava|Jordan|"
           "Megan|Liam|Sam"),
        _w("Smith|Johnson|Brown|Taylor|Walker|Harris|Carter|Parker|Hughes|Bennett|Evans|"
           "Cole|Hayes|Reed|Morgan"),
        _w("Lil|Young|Big|DJ|The|Yung"),
        title_case=True,
    ),
    "german": Language(
        _w("liebe|nacht|herz|sommer|himmel|allein|für immer|träume|sterne|regen|heimweh|"
           "zusammen|feuer|wolken|augen|straße|freiheit|tanzen|morgen|zuhause|sehnsucht|"
           "keine angst|nie wieder|Berlin"),
        _w("Lukas|Leon|Anna|Lena|Felix|Jonas|Marie|Max|Hannah|Paul|Sophie|Tim|Lea|Moritz"),
        _w("Müller|Schmidt|Schneider|Fischer|Weber|Wagner|Becker|Hoffmann|Schulz|Koch|Bauer|"
           "Richter|Klein|Wolf"),
        _w("MC|Der|Die|DJ"),
        title_case=True,
    ),
    "dutch": Language(
        _w("liefde|nacht|hart|zomer|samen|alleen|dromen|regen|vrij|dansen|morgen|ik wil|"
           "jij en ik|terug|altijd|mooi|zonder jou|lekker|vandaag"),
        _w("Daan|Sem|Emma|Julia|Lars|Fleur|Bram|Sanne|Thijs|Anouk|Ruben|Noor"),
        _w("de Jong|Jansen|de Vries|van Dijk|Bakker|Visser|Smit|Meijer|de Boer|Mulder|Bos"),
        _w("DJ|Kleine|Lil"),
    ),
    "nordic": Language(
        _w("kärlek|natt|hjärta|sommar|himmel|ensam|drömmar|för alltid|stjärnor|regn|hem|"
           "tillsammans|dans|vinter|snö|lys|mørke|hav|sol|jeg vil|du og jeg|ingen|aldrig|"
           "sammen|glemmer"),
        _w("Erik|Oskar|Elsa|Maja|Linnea|Axel|Freja|Emil|Ida|Magnus|Sigrid|Nils|Astrid|Jonas"),
        _w("Andersson|Johansson|Nilsson|Hansen|Larsen|Olsen|Lindqvist|Berg|Dahl|Holm|"
           "Lund|Sandberg|Eriksen|Strand"),
        _w("Lille|Unge|DJ"),
    ),
    "finnish": Language(
        _w("rakkaus|yö|sydän|kesä|taivas|yksin|unelmat|ikuisesti|tähdet|sade|koti|yhdessä|"
           "tanssi|talvi|lumi|kaipaus|sinä|minä|hiljaa|kaunis"),
        _w("Mikko|Juha|Aino|Emilia|Elias|Onni|Venla|Eetu|Helmi|Aleksi|Iida|Lauri"),
        _w("Virtanen|Korhonen|Mäkinen|Nieminen|Mäkelä|Hämäläinen|Laine|Heikkinen|Koskinen|"
           "Järvinen|Lehtonen"),
        _w("MC|DJ|Pikku"),
    ),
    "french": Language(
        _w("amour|nuit|cœur|soleil|ciel|seul|toujours|rêves|étoiles|pluie|chez moi|"
           "ensemble|danse|hiver|je t'aime|mon bébé|la vie|demain|tout va bien|sans toi|"
           "bella|doucement|la rue|mon frère|c'est comme ça"),
        _w("Lucas|Hugo|Léa|Chloé|Louis|Manon|Théo|Camille|Nathan|Inès|Jules|Zoé|Maxime|Yanis"),
        _w("Martin|Bernard|Dubois|Thomas|Robert|Richard|Petit|Durand|Leroy|Moreau|Laurent|"
           "Lefèvre|Fontaine|Rousseau"),
        _w("MC|DJ|Lil|Le|La"),
    ),
    "italian": Language(
        _w("amore|notte|cuore|sole|cielo|da solo|per sempre|sogni|stelle|pioggia|casa|"
           "insieme|ballo|inverno|ti amo|bella|la vita|domani|senza di te|piano piano|"
           "mare|estate|ragazza|non mi basta"),
        _w("Luca|Marco|Giulia|Francesca|Alessandro|Chiara|Matteo|Sara|Lorenzo|Martina|Davide"),
        _w("Rossi|Russo|Ferrari|Esposito|Bianchi|Romano|Colombo|Ricci|Marino|Greco|Bruno|"
           "Gallo|Conti"),
        _w("Il|DJ|Lil|Sfera"),
    ),
    "turkish": Language(
        _w("aşk|gece|kalbim|güneş|gökyüzü|yalnız|sonsuza dek|rüyalar|yıldızlar|yağmur|ev|"
           "birlikte|dans|kış|seni seviyorum|hayat|yarın|sensiz|gel|gitme|deli|sevda|"
           "canım|olmaz"),
        _w("Mehmet|Ahmet|Ayşe|Zeynep|Emre|Elif|Burak|Merve|Can|Selin|Murat|Deniz|Ece|Kerem"),
        _w("Yılmaz|Kaya|Demir|Şahin|Çelik|Yıldız|Aydın|Öztürk|Arslan|Doğan|Koç|Kurt"),
        _w("DJ|MC"),
    ),
    "greek": Language(
        _w("agapi|nychta|kardia|ilios|ouranos|monos|gia panta|oneira|asteria|vrochi|spiti|"
           "mazi|choros|thalassa|s'agapo|zoi|avrio|horis esena|ela|mi fevgeis|kalokairi"),
        _w("Giorgos|Nikos|Maria|Eleni|Dimitris|Katerina|Kostas|Sofia|Yannis|Christina"),
        _w("Papadopoulos|Pappas|Georgiou|Nikolaou|Vlachos|Oikonomou|Antoniou|Karagiannis"),
        _w("DJ|MC"),
    ),
    "polish_czech": Language(
        _w("miłość|noc|serce|lato|niebo|sam|na zawsze|marzenia|gwiazdy|deszcz|dom|razem|"
           "taniec|zima|kocham cię|życie|jutro|bez ciebie|láska|srdce|noc|sníh|domov|"
           "zůstaň|tvoje oči"),
        _w("Jakub|Kuba|Zuzanna|Wojtek|Ola|Piotr|Tereza|Ondřej|Marta|Tomáš|Kasia|Jan"),
        _w("Nowak|Kowalski|Wiśniewski|Wójcik|Kamiński|Lewandowski|Novák|Svoboda|Dvořák|"
           "Černý|Procházka|Kučera"),
        _w("DJ|MC|Young"),
    ),
    "hungarian": Language(
        _w("szerelem|éjszaka|szív|nyár|ég|egyedül|örökké|álmok|csillagok|eső|otthon|"
           "együtt|tánc|tél|szeretlek|élet|holnap|nélküled"),
        _w("Bence|Máté|Anna|Réka|Dávid|Eszter|Ádám|Zsófi|Levente|Dóra"),
        _w("Nagy|Kovács|Tóth|Szabó|Horváth|Varga|Kiss|Molnár|Németh|Farkas"),
        _w("DJ|MC"),
    ),
    "baltic": Language(
        _w("armastus|öö|süda|suvi|taevas|üksi|igavesti|unistused|mīlestība|nakts|sirds|"
           "vasara|meilė|naktis|širdis|vasara|kartu|šokis|namo|rytoj"),
        _w("Karl|Mari|Liis|Rasmus|Jānis|Anna|Kristaps|Laura|Lukas|Gabija|Matas|Ieva"),
        _w("Tamm|Saar|Sepp|Mägi|Bērziņš|Kalniņš|Ozoliņš|Kazlauskas|Jankauskas|Petrauskas"),
        _w("DJ|MC"),
    ),
    "russian": Language(
        _w("lyubov|noch|serdtse|leto|nebo|odin|navsegda|mechty|zvyozdy|dozhd|dom|vmeste|"
           "tanets|zima|ya tebya lyublyu|zhizn|zavtra|bez tebya|malyshka|tuman|vesna"),
        _w("Ivan|Dmitry|Anna|Olga|Sergey|Maria|Alexei|Katya|Nikita|Polina|Artem|Vera"),
        _w("Ivanov|Smirnov|Kuznetsov|Popov|Sokolov|Lebedev|Kozlov|Novikov|Morozov|Volkov"),
        _w("MC|DJ|Lil"),
    ),
    "romanian": Language(
        _w("iubire|noapte|inimă|vară|cer|singur|pentru totdeauna|vise|stele|ploaie|acasă|"
           "împreună|dans|iarnă|te iubesc|viață|mâine|fără tine|dor"),
        _w("Andrei|Ioana|Mihai|Elena|Alexandru|Maria|Vlad|Ana|Cristian|Irina"),
        _w("Popescu|Ionescu|Popa|Dumitru|Stan|Stoica|Gheorghe|Rusu|Munteanu|Matei"),
        _w("DJ|MC"),
    ),
    "japanese": Language(
        _w("sakura|yume|kimi no koe|ai|hoshi|sora|natsu no hi|namida|kaze|hikari|kokoro|"
           "ashita|yoru|tsuki|koi|mirai|haru|sayonara|boku no uta|himawari|shiawase|hanabi"),
        _w("Haruto|Yui|Sota|Hina|Ren|Aoi|Yuto|Sakura|Riku|Mei|Kenji|Yuki"),
        _w("Sato|Suzuki|Takahashi|Tanaka|Watanabe|Ito|Yamamoto|Nakamura|Kobayashi|Kato|"
           "Yoshida|Yamada"),
        _w("DJ|Mr."),
    ),
    "korean": Language(
        _w("saranghae|bam|maeum|haneul|byeol|nunmul|baram|bit|naeil|kkum|bom|yeoreum|"
           "gyeoul|neo|na|uri|gidarilge|bogo sipda|haengbok|ibyeol|cheotsarang"),
        _w("Ji-hoon|Min-jun|Seo-yeon|Ha-eun|Joon|Ji-woo|Yuna|Tae-yang|Soo-ah|Hyun"),
        _w("Kim|Lee|Park|Choi|Jung|Kang|Cho|Yoon|Jang|Lim|Han|Shin"),
        _w("DJ|MC"),
    ),
    "chinese": Language(
        _w("ai|wan an|xing xing|meng|tian kong|yu|xiang ni|ni hao|yong yuan|xin|feng|"
           "yue liang|hua|ai qing|qing tian|xiao xing yun|bu yao zou|hai|ming tian"),
        _w("Wei|Jay|Mei|Jia|Hao|Ling|Xin|Yu|Zhen|Kai|Hui|Ting"),
        _w("Chen|Lin|Huang|Zhang|Li|Wang|Wu|Liu|Tsai|Yang|Hsu|Cheng"),
        _w("DJ|MC|A-"),
    ),
    "indonesian": Language(
        _w("cinta|malam|hati|matahari|langit|sendiri|selamanya|mimpi|bintang|hujan|rumah|"
           "bersama|kamu|aku|rindu|hidup|besok|tanpamu|sayang|pergi|kenangan|bahagia"),
        _w("Budi|Siti|Agus|Dewi|Rizky|Putri|Andi|Ayu|Fajar|Nadia|Dimas|Indah"),
        _w("Pratama|Saputra|Wijaya|Santoso|Hidayat|Kusuma|Lestari|Nugroho|Rahman|Halim"),
        _w("DJ|MC"),
    ),
    "tagalog": Language(
        _w("mahal kita|gabi|puso|araw|langit|mag-isa|magpakailanman|pangarap|bituin|ulan|"
           "tahanan|tayo|ikaw|ako|pag-ibig|bukas|paalam|sana|buwan"),
        _w("Juan|Maria|Jose|Angel|Mark|Kristine|Paolo|Bea|Miguel|Nicole"),
        _w("Santos|Reyes|Cruz|Bautista|Ocampo|Garcia|Mendoza|Torres|Villanueva|Aquino"),
        _w("DJ|MC"),
    ),
    "thai_viet": Language(
        _w("rak|khuen|jai|tawan|fah|diew|talod pai|fan|dao|fon|ban|yang|em oi|anh|"
           "tinh yeu|dem|trai tim|mua|nho em|ngay mai"),
        _w("Somchai|Nok|Ploy|Krit|Linh|Minh|Anh|Tuan|Mai|Nam"),
        _w("Srisai|Wongsa|Chaiya|Nguyen|Tran|Le|Pham|Hoang|Vu|Dang"),
        _w("DJ|MC"),
    ),
    "arabic": Language(
        _w("habibi|leil|albi|shams|sama|wahid|ala toul|ahlam|nogoum|matar|beit|ma'an|"
           "raqs|ya omri|hayati|bokra|min ghairak|ya leil|inta|enti|salam"),
        _w("Omar|Ahmed|Layla|Fatima|Youssef|Nour|Karim|Mona|Hassan|Amira|Tamer|Hala"),
        _w("Haddad|Khalil|Nasser|Mansour|Saleh|Farouk|Hamdan|Aziz|Kamal|Sabry"),
        _w("DJ|MC"),
    ),
    "hebrew": Language(
        _w("ahava|laila|lev|shemesh|shamayim|levad|letamid|chalomot|kochavim|geshem|"
           "bayit|beyachad|rikud|ani ohev otach|chaim|machar|bli|yalla|sababa"),
        _w("Noa|Itai|Tamar|Omer|Yael|Eyal|Shira|Amir|Maya|Ido"),
        _w("Cohen|Levi|Mizrahi|Peretz|Biton|Friedman|Azulay|Katz|Malka|Ohana"),
        _w("DJ|MC"),
    ),
    "hindi": Language(
        _w("pyaar|raat|dil|suraj|aasmaan|akela|hamesha|sapne|taare|baarish|ghar|saath|"
           "naach|tum hi ho|zindagi|kal|tere bina|ishq|jaana|mere yaar|dil se"),
        _w("Arjun|Priya|Rahul|Ananya|Rohan|Neha|Vikram|Kavya|Aditya|Shreya|Ali|Sana"),
        _w("Sharma|Verma|Kapoor|Singh|Khan|Gupta|Mehta|Patel|Malhotra|Iyer|Chopra|Qureshi"),
        _w("DJ|MC|King"),
    ),
}

# Christmas words per language; other languages sing their classics in English
HOLIDAY: dict[str, tuple[str, ...]] = {
    "english": _w("last christmas|christmas eve|santa baby|mistletoe|jingle bells|let it snow|"
                  "white christmas|winter wonderland|silent night|home for christmas|"
                  "sleigh ride|christmas lights|under the tree|merry christmas|snowflakes"),
    "german": _w("weihnachtszeit|stille nacht|schneeflocken|oh tannenbaum|weihnachten|"
                 "winterwunderland|lichterglanz|frohe weihnacht"),
    "nordic": _w("god jul|julafton|tomtar|juletid|snö|nu tändas tusen juleljus|julenatt|"
                 "glade jul"),
    "finnish": _w("joulu|joulupukki|hyvää joulua|jouluyö|lumihiutale"),
    "french": _w("noël|petit papa noël|vive le vent|la neige|joyeux noël"),
    "dutch": _w("kerstmis|vrolijk kerstfeest|sneeuw|kerstnacht"),
    "polish_czech": _w("wigilia|kolęda|święta|vánoce|cicha noc"),
    "italian": _w("buon natale|natale|neve|notte di natale"),
}

_TITLE_WORDS = (1, 1, 2, 2, 2, 3)


def _cap(word: str) -> str:
    return word[:1].upper() + word[1:]


def title(rng: random.Random, lang: str) -> str:
    """A song title in ``lang``: one to three words of its vocabulary."""
    language = LANGUAGES[lang]
    words = rng.sample(language.words, rng.choice(_TITLE_WORDS))
    text = " ".join(words)
    if language.title_case:
        return " ".join(_cap(w) for w in text.split(" "))
    return _cap(text)


def holiday_title(rng: random.Random, lang: str) -> str:
    """A Christmas song title: a holiday phrase, now and then with a word of ``lang``."""
    phrases = HOLIDAY.get(lang, HOLIDAY["english"])
    text = rng.choice(phrases)
    if rng.random() < 0.3:
        words = LANGUAGES[lang if lang in HOLIDAY else "english"].words
        text = f"{text} {rng.choice(words)}"
    if LANGUAGES[lang].title_case or lang not in HOLIDAY:
        return " ".join(_cap(w) for w in text.split(" "))
    return _cap(text)


def artist(rng: random.Random, lang: str) -> str:
    """An artist name in ``lang``: a full name, a stage name or a band."""
    language = LANGUAGES[lang]
    kind = rng.random()
    if kind < 0.5:
        return f"{rng.choice(language.given)} {rng.choice(language.family)}"
    if kind < 0.75 and language.stage:
        return f"{rng.choice(language.stage)} {rng.choice(language.given)}"
    if kind < 0.9:
        return _blend(rng, language)
    return _cap(rng.choice(language.words))


_VOWELS = set("aeiouyáéíóúàèìòùäöüåæøıâêîôûãõœ")


def _blend(rng: random.Random, language: Language) -> str:
    """A one-word stage name: a given name up to its first vowel, a surname's last syllable."""
    given = rng.choice(language.given).replace("-", "").lower()
    family = rng.choice(language.family).split(" ")[-1].lower()
    cut = next((i for i, ch in enumerate(given) if i > 0 and ch in _VOWELS), len(given) - 1)
    last = max((i for i, ch in enumerate(family) if ch in _VOWELS), default=0)
    while last > 0 and family[last - 1] in _VOWELS:
        last -= 1
    return _cap(given[: cut + 1] + family[max(last - 1, 0):])
