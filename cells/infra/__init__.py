"""The Pulumi program (`program.main`) and its components: what each stack builds."""
