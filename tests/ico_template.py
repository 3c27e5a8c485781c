"""Test-fixture generator: workbooks laid out like the UK ICO's record-of-processing
documentation templates (controller and processor), filled in as a DPO would, with openpyxl.

The ICO publishes the templates as Excel workbooks ("Documentation template for controllers",
"... for processors", ico.org.uk, Accountability and governance > Documentation): a guidance
sheet, a sheet of the organisation's details (label in column A, value in column B), and one
sheet with a row per processing activity under a header row of the Art. 30 headings below,
with a title and a note above the header. The headings here are the ICO's wording.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

CONTROLLER_HEADINGS = [
    "Business function", "Purpose of processing", "Name and contact details of joint controller (if applicable)",
    "Categories of individuals", "Categories of personal data", "Categories of recipients",
    "Link to contract with processor",
    "Names of third countries or international organisations that personal data are transferred to (if applicable)",
    "Safeguards for exceptional transfers of personal data to third countries or international organisations "
    "(if applicable)",
    "Retention schedule (if possible)",
    "General description of technical and organisational security measures (if possible)",
    "Article 6 lawful basis for processing personal data", "Article 9 basis for processing special category data",
    "Legitimate interests for the processing (if applicable)",
    "Link to record of legitimate interests assessment (if applicable)", "Rights available to individuals",
    "Existence of automated decision-making, including profiling (if applicable)",
    "The source of the personal data (if applicable)", "Link to record of consent", "Location of personal data",
    "Data Protection Impact Assessment required?", "DPIA progress", "Link to DPIA",
]
PROCESSOR_HEADINGS = [
    "Name and contact details of the controller",
    "Name and contact details of controller's representative (if applicable)",
    "Name and contact details of controller's data protection officer (if applicable)", "Categories of processing",
    "Names of third countries or international organisations that personal data are transferred to (if applicable)",
    "Safeguards for exceptional transfers of personal data to third countries or international organisations "
    "(if applicable)",
    "General description of technical and organisational security measures (if possible)",
]

CONTROLLER_ROWS = [
    {"Business function": "Human resources", "Purpose of processing": "Payroll",
     "Categories of individuals": "Employees", "Categories of personal data": "Names, bank details, salary, "
     "National Insurance number, sickness records",
     "Categories of recipients": "processor: PayCo Ltd (United Kingdom); authority: HMRC",
     "Link to contract with processor": "Contract PAY-7, signed 2023-04-01",
     "Retention schedule (if possible)": "6 years after employment ends",
     "General description of technical and organisational security measures (if possible)":
         "Encryption at rest, role-based access control, audit logging",
     "Article 6 lawful basis for processing personal data": "Article 6(1)(b) - contract",
     "Article 9 basis for processing special category data": "Article 9(2)(b) - employment, social security",
     "Location of personal data": "HR system (UK)", "Data Protection Impact Assessment required?": "No"},
    {"Business function": "Marketing", "Purpose of processing": "Newsletter",
     "Categories of individuals": "Customers; Prospects", "Categories of personal data": "Names, email addresses",
     "Categories of recipients": "processor: MailShot Inc (USA)",
     "Names of third countries or international organisations that personal data are transferred to (if applicable)":
         "United States of America",
     "Safeguards for exceptional transfers of personal data to third countries or international organisations "
     "(if applicable)": "IDTA signed with MailShot",
     "Retention schedule (if possible)": "Until the customer unsubscribes",
     "Article 6 lawful basis for processing personal data": "Consent",
     "Article 9 basis for processing special category data": "N/A",
     "Existence of automated decision-making, including profiling (if applicable)": "Profiling for segments",
     "Data Protection Impact Assessment required?": "Yes, completed 2024-02-10"},
    {"Business function": "Customer service", "Purpose of processing": "Complaints handling",
     "Categories of individuals": "Customers",
     "Categories of personal data": "Names, email addresses, complaint details",
     "Categories of recipients": "third-party: Ombudsman Services",
     "Names of third countries or international organisations that personal data are transferred to (if applicable)":
         "India; Narnia",
     "Safeguards for exceptional transfers of personal data to third countries or international organisations "
     "(if applicable)": "SCCs with the UK Addendum",
     "Retention schedule (if possible)": "3 years",
     "Article 6 lawful basis for processing personal data": "Legitimate interests",
     "Legitimate interests for the processing (if applicable)": "Resolving complaints fairly"},
]
PROCESSOR_ROWS = [
    {"Name and contact details of the controller": "Client plc, 1 High Street, Leeds, United Kingdom",
     "Categories of processing": "Hosting the client's CRM",
     "Names of third countries or international organisations that personal data are transferred to (if applicable)":
         "None", "General description of technical and organisational security measures (if possible)": "TLS"},
]


def write_ico_controller(path: Path, rows: list[dict[str, str]] | None = None, *, headings: list[str] | None = None,
                         details: bool = True) -> Path:
    wb = Workbook()
    guide = wb.active
    guide.title = "Guidance"
    guide["A1"] = "How to use this template"
    guide["A2"] = "Document your processing activities in the 'Processing activities' sheet."
    if details:
        org = wb.create_sheet("Controller details")
        for i, (label, value) in enumerate([
                ("Name and contact details of controller", "Acme Widgets Ltd, 10 Mill Lane, Bristol, United Kingdom"),
                ("Contact details", "privacy@acme.example, 10 Mill Lane, Bristol, BS1 4AA, United Kingdom"),
                ("Name and contact details of data protection officer", "Dana Pratt, dpo@acme.example"),
                ("Name and contact details of representative", "Acme EU Rep, Dublin, Ireland"),
        ], start=1):
            org.cell(i, 1, label).font = Font(bold=True)
            org.cell(i, 2, value)
    ws = wb.create_sheet("Processing activities")
    ws["A1"] = "Record of processing activities (Article 30 UK GDPR)"
    ws["A2"] = "One row per processing activity."
    headings = headings or CONTROLLER_HEADINGS
    for j, h in enumerate(headings, start=1):
        ws.cell(4, j, h).font = Font(bold=True)
    for i, row in enumerate(rows if rows is not None else CONTROLLER_ROWS, start=5):
        for j, h in enumerate(headings, start=1):
            if h in row:
                ws.cell(i, j, row[h])
    wb.save(path)
    return path


def write_ico_processor(path: Path) -> Path:
    wb = Workbook()
    details = wb.active
    details.title = "Processor details"
    details["A1"], details["B1"] = "Name and contact details of processor", "HostCo GmbH, Berlin, Germany"
    ws = wb.create_sheet("Processing activities")
    for j, h in enumerate(PROCESSOR_HEADINGS, start=1):
        ws.cell(3, j, h)
    for i, row in enumerate(PROCESSOR_ROWS, start=4):
        for j, h in enumerate(PROCESSOR_HEADINGS, start=1):
            if h in row:
                ws.cell(i, j, row[h])
    wb.save(path)
    return path
