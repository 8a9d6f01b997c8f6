"""Word lists the synthetic network is drawn from: names, places, states with counties and time
zones, relationship codes and staff titles. Tuples only, so every draw is reproducible."""

from __future__ import annotations

from dataclasses import dataclass


def _words(text: str, separator: str | None = None) -> tuple[str, ...]:
    return tuple(word.strip() for word in text.split(separator) if word.strip())


FEMALE_GIVEN = _words(
    """
    Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty
    Margaret Sandra Ashley Kimberly Emily Donna Michelle Carol Amanda Dorothy Melissa Deborah
    Stephanie Rebecca Sharon Laura Cynthia Kathleen Amy Angela Shirley Anna Brenda Pamela Emma
    Nicole Helen Samantha Katherine Christine Debra Rachel Carolyn Janet Catherine Maria Heather
    Diane Ruth Julie Olivia Joyce Virginia Victoria Kelly Lauren Christina Joan Evelyn Judith
    Megan Andrea Cheryl Hannah Jacqueline Martha Gloria Teresa Ann Sara Madison Frances Kathryn
    Janice Jean Abigail Alice Judy Sophia Grace Denise Amber Doris Marilyn Danielle Beverly
    Isabella Theresa Diana Natalie Brittany Charlotte Marie Kayla Alexis Lori Aisha Fatima Mei
    Priya Ananya Yuki Sakura Ximena Camila Valentina Lucia Sofia Guadalupe Rosa Carmen Leticia
    Adriana Linh Hoa Ngozi Amara Chiamaka Zainab Leila Noor Esther Miriam Hana Aaliyah Imani
    Keisha Nia Destiny Harper Avery Chloe Zoe Mila Aria Layla Nora Riley Stella
    """
)
MALE_GIVEN = _words(
    """
    James Robert John Michael David William Richard Joseph Thomas Charles Christopher Daniel
    Matthew Anthony Mark Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy
    Ronald Edward Jason Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott
    Brandon Benjamin Samuel Gregory Alexander Frank Patrick Raymond Jack Dennis Jerry Tyler Aaron
    Jose Adam Nathan Henry Douglas Zachary Peter Kyle Ethan Walter Noah Jeremy Christian Keith
    Roger Terry Gerald Harold Sean Austin Carl Arthur Lawrence Dylan Jesse Jordan Bryan Billy Joe
    Bruce Gabriel Logan Albert Willie Alan Juan Wayne Elijah Randy Roy Vincent Ralph Eugene
    Russell Bobby Mason Philip Louis Liam Lucas Mateo Santiago Diego Carlos Luis Miguel Alejandro
    Wei Hiroshi Kenji Arjun Rohan Vikram Minh Duc Chinedu Emeka Oluwaseun Kwame Omar Ahmed Yusuf
    Hassan Tariq Ibrahim Malik Jamal Darnell Andre Marcus Isaac Levi Owen Caleb Hudson
    """
)
FAMILY = _words(
    """
    Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
    Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
    Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill
    Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips
    Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers
    Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson
    Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo
    Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell
    Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson
    Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera
    Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison
    Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker
    Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason
    Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox
    Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan
    Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos
    Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews
    Ray Berry Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence
    Sandoval Okafor Adeyemi Nwosu Mensah Wang Zhang Liu Yang Huang Zhao Wu Zhou Xu Sun Ma Park
    Choi Jung Kang Cho Yoon Tanaka Suzuki Sato Takahashi Watanabe Shah Singh Kumar Gupta Khan
    Ali Hussain Rahman Ahmed Cohen Levy Friedman Schwartz Novak Kowalski Nowak Ivanov Petrov
    Rossi Russo Ferrari Esposito Bianchi Romano Colombo Doyle O'Brien O'Connor Byrne Walsh
    """
)

PLACES = _words(
    """
    Riverside|Lakeside|Maple Grove|Cedar Hill|Oak Park|Pine Ridge|Willow Creek|Brookside|Fairview|
    Highland|Meadowbrook|Stonebridge|Clearwater|Springfield|Greenwood|Harbor View|Summit|Valley|
    Northgate|Eastside|Westfield|Southport|Bayview|Hillcrest|Sunset|Mountain View|Prairie|
    Red Rock|Silver Lake|Birchwood|Ashford|Kingsley|Crossroads|Heritage|Liberty|Pioneer|Canyon|
    Coastal|Union|Foxhollow
    """,
    "|",
)
PRACTICE_KINDS = (
    "Family Medicine",
    "Primary Care",
    "Medical Group",
    "Family Practice",
    "Health Partners",
    "Community Health",
)
HOSPITALS = (
    "St. Anne",
    "Mercy",
    "Good Samaritan",
    "Memorial",
    "Providence",
    "Sacred Heart",
    "University",
    "Baptist",
    "Methodist",
    "Presbyterian",
    "Regional",
    "General",
)
STREETS = (
    "Main Street",
    "Oak Avenue",
    "Elm Street",
    "Washington Avenue",
    "Park Road",
    "Lincoln Way",
    "Maple Drive",
    "Center Street",
    "Church Street",
    "Market Street",
    "Broad Street",
    "Highland Avenue",
)


@dataclass(frozen=True)
class State:
    code: str
    time_zone: str
    counties: tuple[str, ...]  # the last one is rural


STATES = (
    State("MA", "America/New_York", ("Middlesex", "Worcester", "Hampden", "Berkshire", "Franklin")),
    State("NY", "America/New_York", ("Albany", "Onondaga", "Erie", "Monroe", "Hamilton")),
    State("GA", "America/New_York", ("Fulton", "Cobb", "Chatham", "Clarke", "Telfair")),
    State("IL", "America/Chicago", ("Cook", "DuPage", "Champaign", "Sangamon", "Pope")),
    State("TX", "America/Chicago", ("Travis", "Harris", "Bexar", "Lubbock", "Presidio")),
    State("CO", "America/Denver", ("Denver", "Boulder", "El Paso", "Larimer", "Saguache")),
    State("AZ", "America/Phoenix", ("Maricopa", "Pima", "Coconino", "Yavapai", "Apache")),
    State("CA", "America/Los_Angeles", ("Alameda", "Sacramento", "Fresno", "San Diego", "Modoc")),
    State("WA", "America/Los_Angeles", ("King", "Spokane", "Yakima", "Whatcom", "Ferry")),
)

# Leading two digits the IRS assigns to employer identification numbers.
EIN_PREFIXES = (
    *range(10, 17),
    *range(20, 28),
    *range(30, 49),
    *range(50, 69),
    *range(71, 78),
    *range(80, 89),
    *range(90, 96),
    98,
    99,
)

# (title, share of staff, has an NPI with this probability)
STAFF_KINDS = (
    ("Registered nurse", 0.35, 0.2),
    ("Medical assistant", 0.35, 0.0),
    ("Front desk coordinator", 0.3, 0.0),
)
CLINICIAN_TITLES = (
    ("Family physician", "Dr."),
    ("Internist", "Dr."),
    ("Pediatrician", "Dr."),
    ("Nurse practitioner", ""),
    ("Physician assistant", ""),
)

# v3 RoleCode: code -> (display, gender of the representative: F, M or "" for either)
RELATIONSHIPS = {
    "MTH": ("mother", "F"),
    "FTH": ("father", "M"),
    "GUARD": ("guardian", ""),
    "DAU": ("natural daughter", "F"),
    "SON": ("natural son", "M"),
    "WIFE": ("wife", "F"),
    "HUSB": ("husband", "M"),
    "FRND": ("unrelated friend", ""),
}

# Age bands (inclusive) and their share of a practice's panel, roughly the US population.
AGE_BANDS = (
    ((0, 4), 6.0),
    ((5, 12), 10.0),
    ((13, 17), 6.5),
    ((18, 24), 9.0),
    ((25, 34), 13.0),
    ((35, 44), 12.5),
    ((45, 54), 12.5),
    ((55, 64), 12.5),
    ((65, 74), 10.0),
    ((75, 84), 5.5),
    ((85, 95), 2.5),
)
