"""Made-up wording of synthetic secure messages: subjects and bodies by category and by who
writes. ``{first}`` is the patient's given name, ``{clinician}`` the clinician's name."""

from __future__ import annotations

# Category codes (messaging.models.Category) with their share of patient-initiated threads.
PATIENT_CATEGORIES = (
    ("medical", 44),
    ("refill", 22),
    ("appointment", 15),
    ("referral", 7),
    ("billing", 5),
    ("amend-record", 2),
    ("other", 5),
)
CATEGORY_DISPLAY = {
    "medical": "Medical question",
    "refill": "Prescription refill",
    "appointment": "Appointment",
    "referral": "Referral",
    "billing": "Billing",
    "amend-record": "Request to amend my record",
    "other": "Other",
}

PATIENT_SUBJECTS = {
    "medical": (
        "Question about my blood pressure",
        "Side effects of the new medication",
        "Rash that is not going away",
        "Follow-up question after my visit",
        "Cough for two weeks",
        "Lab results question",
        "Knee pain after exercise",
        "Trouble sleeping",
    ),
    "refill": (
        "Refill request",
        "Running low on my prescription",
        "Pharmacy needs a new prescription",
        "90-day supply instead of 30",
    ),
    "appointment": (
        "Need to reschedule",
        "Can I get an earlier appointment?",
        "Telehealth visit instead of coming in",
        "Annual physical",
    ),
    "referral": (
        "Referral to a specialist",
        "Physical therapy referral",
        "Dermatology referral status",
    ),
    "billing": ("Question about a bill", "Insurance claim denied", "Payment plan"),
    "amend-record": ("Correction to my allergy list", "Wrong date in my record"),
    "other": ("Form for work", "School form", "Travel vaccination question"),
}
PATIENT_BODIES = {
    "medical": (
        "Hello, since my last visit I have been checking at home and the numbers are higher "
        "than usual in the mornings. Should I change anything before my next appointment?",
        "Hi, I started the medication last week and I feel dizzy in the afternoons. Is that "
        "expected or should I stop taking it?",
        "Good morning. The symptoms we talked about have not improved. Do I need to come in "
        "or is there something I can try at home first?",
        "Hello, I saw my results online and I am not sure what they mean. Could someone "
        "explain them to me?",
    ),
    "refill": (
        "Hello, I have about five days left of my prescription. Could you send a refill to "
        "my usual pharmacy?",
        "Hi, the pharmacy says they need a new prescription from the doctor. Thank you!",
        "Could my prescription be changed to a 90-day supply? It would be easier with my "
        "insurance.",
    ),
    "appointment": (
        "Hello, something came up at work and I need to move my appointment. Are there any "
        "openings later in the week?",
        "Hi, is it possible to do my next visit by video instead of in person?",
        "I would like to schedule my yearly check-up. Mornings work best for me.",
    ),
    "referral": (
        "Hello, at my visit we talked about seeing a specialist. Has the referral been sent?",
        "Hi, the specialist's office says they have not received the referral yet.",
    ),
    "billing": (
        "Hello, I received a bill for my last visit but I thought it was covered by my "
        "insurance. Could someone check?",
        "Hi, is it possible to pay the balance in installments?",
    ),
    "amend-record": (
        "Hello, my record lists an allergy I do not have. Could it be corrected?",
        "The date of my last tetanus shot in my record is wrong; I had it two years ago.",
    ),
    "other": (
        "Hello, my employer needs a form filled in by the doctor. Can I upload it here?",
        "Hi, I am travelling abroad next month. Do I need any vaccinations?",
    ),
}
PRACTICE_REPLIES = {
    "medical": (
        "Hi {first}, thank you for letting us know. Please keep a log for one more week and "
        "bring it to your next visit. If you feel worse, call the office. {clinician}",
        "Hi {first}, that can happen in the first weeks. Keep taking it with food; if it "
        "does not improve in a week, we will adjust the dose. {clinician}",
        "Hi {first}, the results are within the normal range. Nothing needs to change for "
        "now. {clinician}",
        "Hi {first}, please schedule a visit this week so we can take a look. {clinician}",
    ),
    "refill": (
        "Hi {first}, the refill was sent to your pharmacy today. {clinician}",
        "Hi {first}, your prescription has been renewed for 90 days. {clinician}",
    ),
    "appointment": (
        "Hi {first}, we moved your appointment to Thursday at 10:30. {clinician}",
        "Hi {first}, a video visit is fine. You will receive a link the day before. {clinician}",
    ),
    "referral": (
        "Hi {first}, the referral was faxed again today; they should call you this week. "
        "{clinician}",
    ),
    "billing": (
        "Hi {first}, our billing team resubmitted the claim to your insurance. You do not "
        "need to pay anything for now. {clinician}",
    ),
    "amend-record": ("Hi {first}, thank you, your record has been corrected. {clinician}",),
    "other": (
        "Hi {first}, yes, please upload the form and we will complete it within three "
        "business days. {clinician}",
    ),
}
PATIENT_FOLLOW_UPS = (
    "Thank you very much!",
    "Thanks. One more question: can I take it together with my other medication?",
    "Got it, thank you for the quick answer.",
    "Thank you. I will do that and let you know.",
)
PRACTICE_FOLLOW_UPS = (
    "Hi {first}, yes, that is fine. {clinician}",
    "You're welcome, {first}. Let us know if anything changes. {clinician}",
)
OUTREACH = (
    (
        "medical",
        "Your lab results",
        "Hi {first}, your recent lab results are normal. "
        "We will recheck them at your next yearly visit. {clinician}",
    ),
    (
        "medical",
        "Follow-up after your visit",
        "Hi {first}, I wanted to check how you are "
        "feeling since your visit. Please reply if the symptoms have not improved. {clinician}",
    ),
    (
        "appointment",
        "Time for your annual check-up",
        "Hi {first}, our records show you are "
        "due for your annual check-up. Please call or reply to schedule. {clinician}",
    ),
    (
        "medical",
        "Flu vaccine",
        "Hi {first}, flu vaccines are now available at the office. "
        "No appointment is needed on weekday mornings. {clinician}",
    ),
    (
        "referral",
        "Your referral",
        "Hi {first}, your referral has been approved. The "
        "specialist's office will contact you. {clinician}",
    ),
)
COLLEAGUE = (
    (
        "medical",
        "Medication review",
        "Could you take a look at this patient's medication "
        "list before the next visit? I am concerned about an interaction.",
    ),
    (
        "referral",
        "Second opinion",
        "I would appreciate your opinion on the latest results "
        "for this patient before we decide on a referral.",
    ),
    (
        "medical",
        "Covering during my absence",
        "I am out next week. Could you follow up on this patient's results if they come in?",
    ),
)
COLLEAGUE_REPLIES = (
    "Reviewed. I agree with the plan; no changes needed for now.",
    "Thanks, I will follow up and let you know.",
    "I would adjust the dose slightly; let's discuss at the team meeting.",
)
