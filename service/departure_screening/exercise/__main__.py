from departure_screening.exercise.cli import main

raise SystemExit(main())
