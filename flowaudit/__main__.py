from flowaudit.cli import console_main

console_main()
