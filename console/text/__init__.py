"""Pure display text: formatting, pause and audit wording, output comparison, the trigger
form's logic. Never imports Textual.
"""
