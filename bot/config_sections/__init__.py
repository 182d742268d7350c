"""The sections of the settings (`bot.config.Settings`), one module each by who reads them.

Each section is a frozen pydantic model with `extra="forbid"`, so a misspelt key in the
config file is an error naming it. Import a section from its module.
"""
