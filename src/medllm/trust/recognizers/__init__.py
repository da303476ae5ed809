"""PHI recognizers for the 18 HIPAA Safe Harbor identifiers, one per file, as a Presidio registry.

Names, places, dates, phones and ages are what real clinical notes are full of; they are found
with word lists and context (`names`, `locations`, `dates`, ...). The other identifiers are
recognisable by a label in front of them ("MRN: 00482913") or by their shape (an SSN, a VIN).
Of Presidio's predefined recognizers only those with checksums or unambiguous shapes are kept
(e-mail, credit card, IBAN, MAC, UUID, US SSN/ITIN, medical licence).

`PRESIDIO_TO_PHI` maps every entity type the registry can emit to one of our PHI labels.
"""

from __future__ import annotations

from collections.abc import Sequence

from presidio_analyzer import EntityRecognizer, RecognizerRegistry

from medllm.trust.privacy.lexicon import Lexicon

# Our labels; AGE is the "ages over 89" part of the HIPAA dates category, reported apart.
PHI_LABELS: tuple[str, ...] = (
    "NAME", "LOCATION", "DATE", "AGE", "PHONE", "FAX", "EMAIL", "SSN", "MRN", "HEALTH_PLAN",
    "ACCOUNT", "LICENSE", "VEHICLE", "DEVICE", "URL", "IP", "BIOMETRIC", "PHOTO", "OTHER_ID",
)

PRESIDIO_TO_PHI: dict[str, str] = {
    "PERSON": "NAME", "LOCATION": "LOCATION", "DATE_TIME": "DATE", "PHONE_NUMBER": "PHONE",
    "EMAIL_ADDRESS": "EMAIL", "US_SSN": "SSN", "US_ITIN": "SSN", "URL": "URL",
    "IP_ADDRESS": "IP", "MAC_ADDRESS": "DEVICE", "CREDIT_CARD": "ACCOUNT", "IBAN_CODE": "ACCOUNT",
    "US_BANK_NUMBER": "ACCOUNT", "CRYPTO": "ACCOUNT", "MEDICAL_LICENSE": "LICENSE",
    "US_DRIVER_LICENSE": "LICENSE", "US_PASSPORT": "OTHER_ID", "UK_NHS": "OTHER_ID",
    "UUID": "OTHER_ID",
    **{label: label for label in PHI_LABELS},
}

STATES = (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC"
).split()

# Presidio's predefined recognizers we keep: checksummed or unambiguous shapes only.
KEEP_PREDEFINED = {
    "EmailRecognizer", "UsSsnRecognizer", "CreditCardRecognizer",
    "IbanRecognizer", "MedicalLicenseRecognizer", "UsItinRecognizer", "MacAddressRecognizer",
    "UuidRecognizer",
}


def clinical_recognizers(lexicon: Lexicon) -> list[EntityRecognizer]:
    """The recognizers medllm adds to Presidio's."""
    from medllm.trust.recognizers.account import AccountRecognizer
    from medllm.trust.recognizers.ages import AgeOver89Recognizer
    from medllm.trust.recognizers.biometric import BiometricRecognizer
    from medllm.trust.recognizers.dates import ClinicalDateRecognizer
    from medllm.trust.recognizers.device import DeviceRecognizer
    from medllm.trust.recognizers.fax import FaxRecognizer
    from medllm.trust.recognizers.health_plan import HealthPlanRecognizer
    from medllm.trust.recognizers.ip import ClinicalIpRecognizer
    from medllm.trust.recognizers.license import LicenseRecognizer
    from medllm.trust.recognizers.locations import ClinicalLocationRecognizer
    from medllm.trust.recognizers.mrn import MrnRecognizer
    from medllm.trust.recognizers.names import ClinicalNameRecognizer
    from medllm.trust.recognizers.other_id import OtherIdRecognizer
    from medllm.trust.recognizers.phones import ClinicalPhoneRecognizer
    from medllm.trust.recognizers.photo import PhotoFileRecognizer
    from medllm.trust.recognizers.ssn import ClinicalSsnRecognizer
    from medllm.trust.recognizers.url import PlainUrlRecognizer
    from medllm.trust.recognizers.vehicle import VehicleRecognizer

    return [
        ClinicalNameRecognizer(lexicon), ClinicalLocationRecognizer(lexicon), ClinicalDateRecognizer(), AgeOver89Recognizer(),
        ClinicalPhoneRecognizer(), FaxRecognizer(), ClinicalSsnRecognizer(), MrnRecognizer(),
        HealthPlanRecognizer(), AccountRecognizer(), LicenseRecognizer(), VehicleRecognizer(),
        DeviceRecognizer(), PlainUrlRecognizer(), ClinicalIpRecognizer(), BiometricRecognizer(), PhotoFileRecognizer(),
        OtherIdRecognizer(),
    ]


def build_registry(lexicon: Lexicon, extra: Sequence[EntityRecognizer] = (),
                   nlp_engine=None) -> RecognizerRegistry:
    """Presidio's kept predefined recognizers plus the clinical ones plus `extra`. With an
    `nlp_engine` that has NER, spaCy's person/place recognizer is added too."""
    from presidio_analyzer import predefined_recognizers as pre

    registry = RecognizerRegistry(supported_languages=["en"])
    for name in sorted(KEEP_PREDEFINED):
        registry.add_recognizer(getattr(pre, name)(supported_language="en"))
    if nlp_engine is not None:
        registry.add_recognizer(pre.SpacyRecognizer(supported_language="en"))
    for r in [*clinical_recognizers(lexicon), *extra]:
        registry.add_recognizer(r)
    return registry
