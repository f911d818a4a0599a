"""Domain lists for email domain typo suggestions.

The three lists below are the default lists of mailcheck 1.1.2 (github.com/mailcheck/mailcheck,
src/mailcheck.js), kept in their order because the first of two equally close entries wins.
The duplicate "net" of the original top-level list is dropped.

mailcheck is under the MIT licence, Copyright 2012 Received Inc:

Permission is hereby granted, free of charge, to any person obtaining a copy of this
software and associated documentation files (the "Software"), to deal in the Software
without restriction, including without limitation the rights to use, copy, modify, merge,
publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons
to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR
PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE
FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
DEALINGS IN THE SOFTWARE.
"""

# Whole mail domains that addresses are often mistyped from.
MAILCHECK_DOMAINS: tuple[str, ...] = (
    "msn.com", "bellsouth.net", "telus.net", "comcast.net", "optusnet.com.au", "earthlink.net",
    "qq.com", "sky.com", "icloud.com", "mac.com", "sympatico.ca", "googlemail.com", "att.net",
    "xtra.co.nz", "web.de", "cox.net", "gmail.com", "ymail.com", "aim.com", "rogers.com",
    "verizon.net", "rocketmail.com", "google.com", "optonline.net", "sbcglobal.net", "aol.com",
    "me.com", "btinternet.com", "charter.net", "shaw.ca",
)
# The first label of large providers that run the same service under many top-level domains.
MAILCHECK_SECOND_LEVEL_DOMAINS: tuple[str, ...] = (
    "yahoo", "hotmail", "mail", "live", "outlook", "gmx",
)
# Everything after the first label of the domain: "com", "co.uk".
MAILCHECK_TOP_LEVEL_DOMAINS: tuple[str, ...] = (
    "com", "com.au", "com.tw", "ca", "co.nz", "co.uk", "de", "fr", "it", "ru", "net", "org",
    "edu", "gov", "jp", "nl", "kr", "se", "eu", "ie", "co.il", "us", "at", "be", "dk", "hk",
    "es", "gr", "ch", "no", "cz", "in", "net.au", "info", "biz", "mil", "co.jp", "sg", "hu",
    "uk",
)
