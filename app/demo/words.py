"""The invented names, places, diagnoses and phrases the demo caseload draws from.

Every person, agency and payer id here is made up; see :mod:`app.demo`.
"""

from __future__ import annotations

from datetime import timedelta

from app.domain.records import RecoveryDomain

AGENCY = "Prairie Path Peer Support (demo agency)"
# Invented receiver ids: the real ones come from the state's trading-partner set-up.
ND_RECEIVER = {"receiver_id": "NDDEMOMMIS", "receiver_name": "ND Medicaid MMIS (demo)"}
CENTRAL_TO_UTC = timedelta(hours=6)  # demo times are Central; stamps are UTC (no DST)
DAY_START = 8 * 60
DAY_END = 17 * 60 + 30

# -- invented people ------------------------------------------------------------

# fmt: off
FIRST_NAMES = (
    "Ada", "Aiyana", "Alex", "Amara", "Andre", "Angela", "Bjorn", "Brandon", "Brianna", "Carmen",
    "Cheyenne", "Chloé", "Cody", "Colton", "Dakota", "Dana", "Darnell", "DeShawn", "Destiny",
    "Dominic", "Elsa", "Emil", "Erik", "Faith", "Gabriel", "Gunnar", "Hailey", "Hope", "Ingrid",
    "Isaiah", "Jace", "Jamal", "Janelle", "Jasmine", "Jolene", "José", "Josiah", "Kaylee", "Kari",
    "Keanu", "Kendra", "Lakota", "Lars", "Leah", "Leif", "Lena", "Logan", "Lucía", "Marcus",
    "Mariah", "Maxine", "Mikkel", "Nadia", "Naomi", "Nils", "Noah", "Olivia", "Orrin", "Paige",
    "Quentin", "Raven", "Renée", "Riley", "Rosa", "Sage", "Savannah", "Shawn", "Sierra", "Sven",
    "Tanner", "Tatum", "Terrell", "Thea", "Tomás", "Tyler", "Vanessa", "Wade", "Willow", "Winona",
    "Wyatt", "Yusuf", "Zoë",
)
# fmt: on
# fmt: off
LAST_NAMES = (
    "Aasen", "Baptiste", "Bélanger", "Bergstrom", "Big-Eagle", "Blackhorse", "Brekke", "Brown",
    "Cadotte", "Charbonneau", "Clearwater", "Dahl", "DeMarce", "Dubois", "Eide", "Engstrom",
    "Falcon", "Fjeld", "Gourneau", "Grant", "Gullickson", "Halvorson", "Haugen", "Haugen-Brekke",
    "Hernández", "Hoffmann", "Iron-Hawk", "Jacobsen", "Johnson", "Keplin", "Kjos", "LaFromboise",
    "Langer", "Larsen-Tollefson", "Lefèvre", "Lindqvist", "Lundeen", "MacLeod", "Malnourie",
    "McCloud", "Moen", "Morin", "Müller", "Nelson", "Núñez", "O'Brien", "O'Neil", "Olson", "Østby",
    "Peltier", "Poitra", "Quill", "Red-Tail", "Rivera", "Schmidt", "Skogen", "Sørensen",
    "St. Claire", "Standing-Elk", "Thorson", "Two-Rivers", "Vang", "Wagner", "White-Cloud",
    "Yellow-Bird-Moen", "Zacharias",
)
# fmt: on
PREFERRED = ("", "", "", "", "", "", "Ace", "Bee", "Bud", "Cece", "Jo", "Mo", "Sunny", "Tee")
PRONOUNS = ("", "she/her", "he/him", "she/her", "he/him", "they/them")

# fmt: off
ND_COUNTIES = (
    "Burleigh", "Cass", "Grand Forks", "Ward", "Williams", "Stark", "Morton", "Stutsman",
    "Rolette", "Benson", "Sioux", "Mountrail", "McKenzie", "Ramsey", "Walsh", "Barnes", "Richland",
    "McLean",
)
# fmt: on
# fmt: off
MN_COUNTIES = (
    "Clay", "Polk", "Becker", "Beltrami", "Cass", "Hennepin", "Ramsey", "St. Louis", "Otter Tail",
    "Mahnomen", "Clearwater",
)
# fmt: on
ND_TRIBES = (
    "Standing Rock Sioux Tribe",
    "Turtle Mountain Band of Chippewa Indians",
    "Spirit Lake Nation",
    "MHA Nation",
    "Sisseton-Wahpeton Oyate",
)
MN_TRIBES = ("White Earth Nation", "Red Lake Nation", "Leech Lake Band of Ojibwe")
SUD_DX = ("F11.20", "F10.20", "F12.20", "F15.20", "F14.20", "F11.21", "F10.21")
MH_DX = ("F33.1", "F41.1", "F43.10", "F31.81", "F90.0", "F32.1", "F43.12", "F25.0")
# fmt: off
REFERRAL_SOURCES = (
    "Self", "Hospital emergency department", "Drug court", "Probation", "Tribal health",
    "Human service zone", "Treatment program", "Family member", "Shelter", "Primary care",
)
# fmt: on
BEST_TIMES = ("Mornings", "After 3 pm", "Weekdays before noon", "Evenings, not Sundays", "")
EMERGENCY = ("Sister", "Mother", "Grandmother", "Partner", "Friend", "Uncle", "Sponsor")
DISCHARGE_REASONS = (
    "Completed recovery goals",
    "Moved out of the area",
    "Chose to stop services",
    "No contact for 60 days",
    "Transferred to another program",
)

# -- recovery goals (first person), by domain, each with its steps ----------------

GOALS: dict[RecoveryDomain, tuple[tuple[str, tuple[str, ...]], ...]] = {
    RecoveryDomain.HEALTH: (
        (
            "I want to stay sober one day at a time and not end up back in detox.",
            (
                "Go to two meetings a week",
                "Write down my triggers",
                "Call my sponsor when cravings hit",
                "Keep naloxone at home",
                "Make a relapse prevention plan",
            ),
        ),
        (
            "I want to keep my MAT appointments and take my medication like I'm supposed to.",
            (
                "Put appointments in my phone",
                "Set up a ride for clinic days",
                "Talk to the pharmacy about refills",
                "Bring questions to my prescriber",
            ),
        ),
        (
            "I want to sleep better without needing a drink to do it.",
            (
                "Keep a sleep log for two weeks",
                "Cut coffee after noon",
                "Ask my doctor about sleep",
                "Try the breathing app at night",
            ),
        ),
        (
            "I want to get my anxiety under control so I can leave the house.",
            (
                "Practice grounding skills daily",
                "Go to the grocery store with support",
                "Start seeing a counselor",
                "Go somewhere new once a week",
            ),
        ),
        (
            "I want to take my meds every day and stay out of the hospital.",
            (
                "Get a pill organizer",
                "Set phone reminders",
                "Keep psychiatry appointments",
                "Tell someone when I feel off",
            ),
        ),
        (
            "I want to get my teeth fixed so I can smile again.",
            (
                "Find a dentist that takes Medicaid",
                "Make the appointment",
                "Get a ride to the dentist",
            ),
        ),
        (
            "I want to walk every day and feel stronger.",
            ("Walk ten minutes after lunch", "Join the walking group", "Walk to the grocery store"),
        ),
    ),
    RecoveryDomain.HOME: (
        (
            "I want my own place with my name on the lease.",
            (
                "Fill out the housing application",
                "Get my ID and birth certificate",
                "Save for the deposit",
                "Meet with the housing authority",
                "Look at apartments",
            ),
        ),
        (
            "I want to get out of the shelter before winter.",
            (
                "Get on the waitlist",
                "Apply for rental assistance",
                "Look at rooms for rent",
                "Make a moving plan",
            ),
        ),
        (
            "I want to keep paying rent on time and stay housed.",
            (
                "Make a monthly budget",
                "Set up automatic payments",
                "Talk to my landlord about renewing the lease",
            ),
        ),
        (
            "I want my kids back home with me.",
            (
                "Finish the parenting class",
                "Go to every visit",
                "Meet with the caseworker",
                "Get a bed for each kid",
            ),
        ),
        (
            "I want to fix things with my family so I can go home for the holidays.",
            ("Write my mom a letter", "Call my sister once a week", "Go to a family session"),
        ),
    ),
    RecoveryDomain.PURPOSE: (
        (
            "I want to finish my GED.",
            (
                "Sign up for adult learning classes",
                "Take the practice test",
                "Study math twice a week",
                "Schedule the test",
            ),
        ),
        (
            "I want a steady job where I can use my hands.",
            (
                "Write a resume",
                "Practice interviews",
                "Apply to three jobs a week",
                "Get steel-toe boots",
            ),
        ),
        (
            "I want to get my driver's license back.",
            (
                "Pay off the fines",
                "Call the DOT about reinstatement",
                "Take the written test",
                "Get car insurance",
            ),
        ),
        (
            "I want to go back to school for welding.",
            (
                "Tour the college",
                "Fill out the FAFSA",
                "Talk to an advisor",
                "Register for classes",
            ),
        ),
        (
            "I want to volunteer and give back.",
            ("Find a place to volunteer", "Go to the orientation", "Volunteer once a week"),
        ),
        (
            "I want to become a peer support specialist myself someday.",
            ("Ask about the training", "Count my recovery time", "Get a reference letter"),
        ),
    ),
    RecoveryDomain.COMMUNITY: (
        (
            "I want friends who don't use.",
            ("Go to a sober event", "Join a rec league", "Invite someone for coffee"),
        ),
        (
            "I want to reconnect with my culture and go to ceremony.",
            (
                "Talk with an elder",
                "Go to the Wellbriety circle",
                "Learn beading",
                "Go to the powwow",
            ),
        ),
        (
            "I want to get a sponsor and work the steps.",
            ("Find a home group", "Ask someone to sponsor me", "Start step one"),
        ),
        (
            "I want to feel like I belong at church again.",
            ("Meet with the pastor", "Go to Sunday service", "Stay for coffee hour"),
        ),
        (
            "I want to help coach my son's basketball team.",
            ("Ask the coach", "Pass the background check", "Go to practice"),
        ),
    ),
}

# -- note narrative building blocks -------------------------------------------------

WORDS: dict[str, tuple[str, ...]] = {
    "share_topic": (
        "getting my first apartment",
        "my first year sober",
        "going back to school",
        "rebuilding trust with family",
        "learning to ask for help",
        "dealing with court",
        "relapsing and starting again",
        "finding a sponsor",
    ),
    "roleplay": (
        "a phone call to the landlord",
        "asking for a day off",
        "talking to the caseworker",
        "saying no at a party",
        "a job interview",
        "calling the pharmacy",
        "asking the doctor about side effects",
    ),
    "list_topic": (
        "people to call when things get hard",
        "questions for the doctor",
        "monthly bills",
        "things that help with cravings",
        "documents needed for housing",
        "places that are hiring",
        "warning signs of relapse",
        "strengths",
    ),
    "place_visit": (
        "the county social services office",
        "the clinic",
        "the food pantry",
        "a job fair",
        "the driver's license office",
        "an open AA meeting",
        "the housing authority",
        "the library computer lab",
        "the courthouse",
        "the pharmacy",
    ),
    "resource": (
        "a Medicaid renewal appointment",
        "SNAP benefits",
        "a free phone program",
        "the food pantry",
        "a Wellbriety circle",
        "SMART Recovery online meetings",
        "a sober living house",
        "legal aid",
        "Job Service",
        "a bus pass program",
        "a naloxone kit",
        "Al-Anon for family",
        "a recovery community center",
        "energy assistance (LIHEAP)",
        "a warmline",
    ),
    "skill": (
        "box breathing",
        "grounding with the five senses",
        "urge surfing",
        "the HALT check-in",
        "a gratitude list",
        "journaling",
        "planning the day",
        "a budget worksheet",
        "a calendar on the phone",
    ),
    "stressor": (
        "money",
        "a fight with a partner",
        "court dates",
        "loneliness on weekends",
        "an old friend who still uses",
        "work schedule changes",
        "cold weather and being stuck inside",
        "child custody",
        "grief after a loss",
        "back pain",
        "a housing inspection",
        "a family member's drinking",
    ),
    "mood": (
        "calm",
        "tired but hopeful",
        "anxious",
        "upbeat",
        "frustrated",
        "proud",
        "distracted",
        "relaxed",
        "restless",
        "talkative",
    ),
    "feeling": ("proud", "unsure", "grateful", "nervous", "relieved"),
    "quote": (
        "I didn't think I could do this.",
        "It helps to have someone who gets it.",
        "This week was hard but I didn't pick up.",
        "I called my sponsor like we talked about.",
        "I want to keep going.",
        "I'm tired of starting over.",
        "My daughter noticed I'm different.",
        "I finally feel like I have a plan.",
        "I almost cancelled today, glad I didn't.",
        "One step at a time.",
    ),
    "event": (
        "craving",
        "family visit",
        "job interview",
        "argument",
        "holiday",
        "setback",
        "court hearing",
        "doctor visit",
        "payday weekend",
    ),
    "next_when": (
        "next week",
        "Tuesday",
        "Thursday",
        "in two weeks",
        "Monday afternoon",
        "Friday morning",
        "Wednesday after the clinic appointment",
    ),
    "meet_place": (
        "the office",
        "their home",
        "the library",
        "the coffee shop",
        "a video visit",
        "the community center",
    ),
    "bring": (
        "the lease paperwork",
        "ID and birth certificate",
        "the bill from the clinic",
        "the job application",
        "the budget sheet",
        "questions for the doctor",
        "the court paperwork",
    ),
}

GOAL_LINES = (
    '{domain} goal: "{statement}"',
    'Worked on the {domain} goal "{statement}" (step: {step}).',
    "Recovery plan goal ({domain}): {statement} Focus today: {step_l}.",
    "Session tied to the recovery plan, {domain}: {statement}",
)
INTERVENTIONS = (
    "Used motivational interviewing to explore what is getting in the way of {step_l}.",
    "Shared my own experience with {share_topic} to build hope and connection.",
    "Reviewed the recovery plan together and updated progress on '{step}'.",
    "Role-played {roleplay} so {name} felt ready to do it alone.",
    "Helped {name} make a list of {list_topic}.",
    "Went with {name} to {place_visit} and stayed for support.",
    "Connected {name} with {resource} and helped fill out the forms.",
    "Practiced {skill} for dealing with {stressor}.",
    "Talked through a recent {event} and what helped {name} get through it.",
    "Problem-solved barriers to {step_l}; {name} chose the next small step.",
)
RESPONSES = (
    '{name} was engaged and said, "{quote}"',
    "{name} appeared {mood} and took part in the whole session.",
    "{name} reported {days} days without use and feels {feeling} about it.",
    "{name} named {stressor} as a trigger this week and two ways to cope with it.",
    "{name} was quiet at first, then opened up about {stressor}.",
    "{name} said {skill} helped when {stressor} came up.",
    "{name} declined to talk about {stressor} today; we focused on {list_topic} instead.",
    "{name} seemed {mood}; followed through on last week's plan.",
)
PLANS = (
    "Meet again {next_when} at {meet_place}. {name} will {step_l} before then.",
    "Follow up by phone about {resource}. Next visit {next_when}.",
    "Next session: keep working on '{step}'. {name} will bring {bring}.",
    "{name} will call me or the warmline if cravings get strong; next visit {next_when}.",
    "Continue weekly visits; check progress on the {domain} goal at {meet_place}.",
)
DAP_DATA = (
    "Met with {name} at {meet_place}. {name} appeared {mood} and talked about {stressor}.",
    "{name} reported {days} days without use. Discussed {event} and {list_topic}.",
)
DAP_ASSESSMENT = (
    "{name} is making progress on the {domain} goal ({step_l}) and used {skill} this week.",
    "{name} is motivated but {stressor} is a barrier to {step_l}.",
)
RETURN_COMMENTS = (
    "Please add how this session ties to the recovery plan goal.",
    "The response section is thin; describe what the participant said or did.",
    "Place of service and the location note do not match; please clarify.",
    "Please state who else was present during the visit.",
)
ADDENDUM_TEXTS = (
    ("Clarify tie to recovery plan", "This session worked on the {domain} goal: {step_l}."),
    ("Add participant response", "{name} said the plan felt doable and agreed to the next step."),
    ("Clarify location", "The visit took place at {meet_place}; no one else was present."),
    ("Late entry", "{name} called after the session to say the appointment was confirmed."),
)
LOCATIONS = {
    "11": ("Office", "Office, private room"),
    "12": ("Participant's home",),
    "99": ("Public library", "Coffee shop", "Community center", "Park", "Recovery center"),
    "53": ("Community mental health center",),
}
CE_COURSES = (
    ("Ethics and boundaries for peer supporters", True),
    ("Peer support code of ethics refresher", True),
    ("Motivational interviewing refresher", False),
    ("Naloxone and overdose response", False),
    ("Trauma-informed peer support", False),
    ("Cultural humility and historical trauma", False),
    ("Mental Health First Aid", False),
    ("Suicide prevention: QPR gatekeeper training", False),
    ("Documentation for Medicaid peer services", False),
    ("Supporting families in recovery", False),
)
CE_PROVIDERS = (
    "State peer support training portal",
    "Regional recovery community organization",
    "Tribal health program",
    "University extension (online)",
)
SUPERVISION_ACTIONS = (
    "Review overdue notes before Friday.",
    "Follow up on consent renewals due this month.",
    "Plan a warm hand-off for the participant moving to another county.",
    "Practice the boundaries conversation discussed today.",
    "Take a full day off this month (self-care plan).",
    "Bring two notes to the next session for documentation feedback.",
)


# Invented street names; real towns with their main ZIP code.
STREETS = (
    "Prairie Rose",
    "Juniper",
    "Coteau",
    "Sheyenne",
    "Meadowlark",
    "Butte View",
    "Larkspur",
    "Cottonwood",
    "Badlands",
    "Riverbend",
    "Wheatland",
    "Buffalo Grass",
)
TOWNS = {
    "ND": (("Bismarck", "58501"), ("Fargo", "58102"), ("Minot", "58701"),
           ("Grand Forks", "58201"), ("Williston", "58801"), ("Dickinson", "58601"),
           ("Jamestown", "58401")),
    "MN": (("Moorhead", "56560"), ("Duluth", "55802"), ("Bemidji", "56601"),
           ("St. Cloud", "56301")),
}  # fmt: skip
